// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeCounter counts the mutating requests passing through it.
type writeCounter struct {
	rt     http.RoundTripper
	writes *atomic.Int64
	// status counts the writes to machines/status.
	status *atomic.Int64
}

var _ http.RoundTripper = writeCounter{}

func (w writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet {
		w.writes.Add(1)
		if strings.Contains(r.URL.Path, "/machines/") && strings.HasSuffix(r.URL.Path, "/status") {
			w.status.Add(1)
		}
	}
	return w.rt.RoundTrip(r)
}

// countingProxy is a plain-HTTP loopback proxy to the apiserver of cfg that counts what the
// poollet process writes through it; kubeconfig points at it.
type countingProxy struct {
	kubeconfig string
}

func startCountingProxy(b *testing.B, cfg *rest.Config, writes, status *atomic.Int64) *countingProxy {
	b.Helper()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	target, err := url.Parse(cfg.Host)
	if err != nil {
		b.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: writeCounter{rt: rt, writes: writes, status: status},
		// Watches stream: pass every event on at once.
		FlushInterval: -1,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })

	kc := clientcmdapi.NewConfig()
	kc.Clusters["proxy"] = &clientcmdapi.Cluster{Server: "http://" + l.Addr().String()}
	kc.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "proxy"}
	kc.CurrentContext = "proxy"
	path := filepath.Join(b.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		b.Fatal(err)
	}
	return &countingProxy{kubeconfig: path}
}
