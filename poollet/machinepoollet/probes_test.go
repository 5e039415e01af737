// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/test/poollettest"
)

// TestHealthAndReadiness: the manager wiring every poollet binary uses serves /healthz (ping) and
// /readyz with the "synced" check (informer caches synced and the runtime listed once). A later
// runtime outage leaves both as they are: it is reported by the pool's Ready condition, and a
// restart would not help.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	e := poollettest.Start(t, false)
	startPoollet(t, e, func(o *core.Options) { o.Manager.HealthProbeBindAddress = addr })
	get := func(path string) (int, string, error) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}
	ok := func(path, want string) func() error {
		return func() error {
			code, body, err := get(path)
			if err != nil || code != http.StatusOK || !strings.Contains(body, want) {
				return fmt.Errorf("%s: %d %q %v", path, code, body, err)
			}
			return nil
		}
	}
	poollettest.Eventually(t, wait, "/healthz", ok("/healthz?verbose", "[+]ping ok"))
	poollettest.Eventually(t, wait, "/readyz", ok("/readyz?verbose", "[+]informers-synced ok"))
	if code, _, err := get("/readyz/informers-synced"); err != nil || code != http.StatusOK {
		t.Fatalf("/readyz/informers-synced: %d %v", code, err)
	}
	if code, _, err := get("/readyz/nonexistent"); err != nil || code != http.StatusNotFound {
		t.Fatalf("/readyz/nonexistent: %d %v, want 404", code, err)
	}

	// /readyz counts a standby as listed (only the leader lists the runtime): before the outage, wait
	// until this poollet leads (it writes the pool's status) and has really listed.
	waitPoolReady(t, e, corev1.ConditionTrue, core.ReasonRuntimeReady)
	poollettest.Eventually(t, wait, "runtime listed", ok("/readyz?verbose", "[+]runtime-listed ok"))
	e.StopServer()
	waitPoolReady(t, e, corev1.ConditionUnknown, core.ReasonRuntimeUnreachable)
	for _, check := range [][2]string{{"/healthz?verbose", "[+]ping ok"}, {"/readyz?verbose", "[+]informers-synced ok"}} {
		if err := ok(check[0], check[1])(); err != nil {
			t.Fatalf("during the runtime outage: %v", err)
		}
	}
}
