// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
)

func TestEndpoint(t *testing.T) {
	p := &computev1alpha1.MachinePool{}
	p.Name = "eu"
	if _, err := Endpoint(p); err == nil || !strings.Contains(err.Error(), "advertises no console endpoint") {
		t.Errorf("no port: %v", err)
	}
	p.Status.DaemonEndpoints.MachinepoolletEndpoint.Port = 10250
	if _, err := Endpoint(p); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("no address: %v", err)
	}
	p.Status.Addresses = []computev1alpha1.MachinePoolAddress{{Type: computev1alpha1.MachinePoolHostName, Address: "node-1"}, {Type: computev1alpha1.MachinePoolInternalIP, Address: "10.0.0.1"}}
	u, err := Endpoint(p)
	if err != nil || u.String() != "https://10.0.0.1:10250" {
		t.Errorf("endpoint %v %v, want https://10.0.0.1:10250 (internal IP preferred)", u, err)
	}
	p.Annotations = map[string]string{SchemeAnnotation: "http"}
	if u, _ := Endpoint(p); u.Scheme != "http" {
		t.Errorf("scheme annotation ignored: %v", u)
	}
	if got := Path("ns", "m"); got != "/apis/compute.ironcore.dev/namespaces/ns/machines/m/exec" {
		t.Errorf("path %q", got)
	}
}

func status(t *testing.T, rec *httptest.ResponseRecorder) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("answer is not a Status: %q", rec.Body.String())
	}
	return st
}

func TestProxyUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // nothing listens there any more
	rec := httptest.NewRecorder()
	Proxy(rec, httptest.NewRequest(http.MethodPost, "/exec/x", nil), Target{URL: &url.URL{Scheme: "http", Host: addr, Path: "/exec/y"}, Level: "machinepoollet of downstream cluster leaf"})
	st := status(t, rec)
	if rec.Code != http.StatusBadGateway || !strings.Contains(st.Message, "machinepoollet of downstream cluster leaf is unreachable") {
		t.Errorf("unreachable hop: %d %q", rec.Code, st.Message)
	}
}

// TestProxyRefusal: the next hop's refusal reaches the client; a plain-text
// one is wrapped in a Status naming the hop; the caller's credentials are
// replaced by the hop's own.
func TestProxyRefusal(t *testing.T) {
	var gotAuth string
	next := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		http.Error(w, "no such token", http.StatusNotFound)
	}))
	defer next.Close()
	u, _ := url.Parse(next.URL + "/exec/t")
	req := httptest.NewRequest(http.MethodPost, "/exec/x", nil)
	req.Header.Set("Authorization", "Bearer user-token")
	req.Header.Set("Upgrade", "SPDY/3.1")
	rec := httptest.NewRecorder()
	Proxy(rec, req, Target{URL: u, Header: http.Header{"Authorization": {"Bearer hop-token"}}, Level: "provider"})
	st := status(t, rec)
	if rec.Code != http.StatusNotFound || st.Message != "provider: no such token" {
		t.Errorf("refusal: %d %q", rec.Code, st.Message)
	}
	if gotAuth != "Bearer hop-token" {
		t.Errorf("next hop saw Authorization %q, want the hop's own", gotAuth)
	}
}
