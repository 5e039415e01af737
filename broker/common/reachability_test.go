package common

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/rest"
)

func TestReachabilityThreshold(t *testing.T) {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if failing.Load() {
			http.Error(w, "[-]etcd failed", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	d := probeOnly(t, srv, DownstreamOptions{
		Broker: "test", Namespace: "ns", Log: logr.Discard(),
		ProbeInterval: time.Hour, UnreachableThreshold: time.Minute, // driven by hand below
	})
	var changes []bool
	d.OnReachableChange(func(r bool) { changes = append(changes, r) })
	gauge := downstreamReachable.WithLabelValues("test", d.Host)
	ctx := context.Background()

	if err := d.Probe(ctx); err != nil || d.Unreachable() != nil {
		t.Fatalf("probe of a ready server: %v, unreachable %v", err, d.Unreachable())
	}
	failing.Store(true)
	t0 := time.Now()
	if err := d.Probe(ctx); err == nil {
		t.Fatal("probe of a failing server succeeded")
	}
	if err := d.Unreachable(); err != nil {
		t.Fatalf("unreachable after one failure (a blip): %v", err)
	}
	d.reach.record(errString("still down"), t0.Add(30*time.Second))
	if err := d.Unreachable(); err != nil {
		t.Fatalf("unreachable before the threshold: %v", err)
	}
	// A successful write resets the run of failures.
	d.reach.record(nil, t0.Add(40*time.Second))
	d.reach.record(errString("down again"), t0.Add(50*time.Second))
	d.reach.record(errString("down again"), t0.Add(100*time.Second))
	if err := d.Unreachable(); err != nil {
		t.Fatalf("unreachable 50s after a success (threshold 1m): %v", err)
	}
	d.reach.record(errString("refused"), t0.Add(110*time.Second))
	err := d.Unreachable()
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), d.Host) || !strings.Contains(err.Error(), "refused") ||
		!strings.Contains(err.Error(), t0.Add(50*time.Second).UTC().Format(time.RFC3339)) {
		t.Fatalf("after the threshold: %v; want Unavailable naming %s, the first failure and the last error", err, d.Host)
	}
	if v := gaugeValue(t, gauge); v != 0 {
		t.Errorf("reachable gauge %v while unreachable, want 0", v)
	}
	failing.Store(false)
	if err := d.Probe(ctx); err != nil || d.Unreachable() != nil {
		t.Fatalf("probe after recovery: %v, unreachable %v", err, d.Unreachable())
	}
	if v := gaugeValue(t, gauge); v != 1 {
		t.Errorf("reachable gauge %v after recovery, want 1", v)
	}
	if len(changes) != 2 || changes[0] || !changes[1] {
		t.Errorf("transitions %v, want [false true]", changes)
	}
}

func TestReachabilityProbeLoop(t *testing.T) {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	d := probeOnly(t, srv, DownstreamOptions{
		Broker: "loop", Namespace: "ns", Log: logr.Discard(),
		ProbeInterval: 20 * time.Millisecond, UnreachableThreshold: 100 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.RunProbes(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	failing.Store(true)
	start := time.Now()
	waitFor(t, func() bool { return d.Unreachable() != nil })
	if e := time.Since(start); e < 100*time.Millisecond {
		t.Errorf("unreachable after %s, before the 100ms threshold", e)
	}
	failing.Store(false)
	waitFor(t, func() bool { return d.Unreachable() == nil })
}

type errString string

func (e errString) Error() string { return string(e) }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// probeOnly is a Downstream with only the probe: the cache would need a
// real apiserver.
func probeOnly(t *testing.T, srv *httptest.Server, o DownstreamOptions) *Downstream {
	t.Helper()
	d := &Downstream{Host: strings.TrimPrefix(srv.URL, "http://")}
	if err := d.setupProbe(&rest.Config{Host: srv.URL}, o); err != nil {
		t.Fatal(err)
	}
	return d
}
