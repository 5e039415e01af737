// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/poollettest"
)

// writeCounter counts the poollet's mutating requests to the apiserver.
type writeCounter struct {
	rt     http.RoundTripper
	writes *atomic.Int64
	// status counts the writes to machines/status.
	status *atomic.Int64
}

func (w writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet {
		w.writes.Add(1)
		if strings.Contains(r.URL.Path, "/machines/") && strings.HasSuffix(r.URL.Path, "/status") {
			w.status.Add(1)
		}
	}
	return w.rt.RoundTrip(r)
}

// BenchmarkBoundToRunning measures, for IRONFED_BENCH_MACHINES (default 1000) Machines created
// already bound to the pool, the latency from the create's answer to status Running as seen by a
// watch, the poollet's apiserver writes per machine, and the process heap after GC.
func BenchmarkBoundToRunning(b *testing.B) {
	n := 1000
	if s := os.Getenv("IRONFED_BENCH_MACHINES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		benchOnce(b, n)
	}
}

func benchOnce(b *testing.B, n int) {
	cfg := memory.DefaultConfig()
	cfg.MachineClasses[0].Capacity = int64(n)
	e := poollettest.StartWithConfig(b, cfg, false)
	ctx := b.Context()
	if err := e.Client.Create(ctx, &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: class}}); err != nil {
		b.Fatal(err)
	}
	writes, statusWrites := &atomic.Int64{}, &atomic.Int64{}
	restCfg := rest.CopyConfig(e.Config)
	restCfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return writeCounter{rt: rt, writes: writes, status: statusWrites}
	})
	o := e.Options(pool)
	o.Pool.StatusPeriod, o.Pool.HeartbeatInterval = 10*time.Second, 10*time.Second
	poollettest.Run(b, func(ctx context.Context) (manager.Manager, error) { return machinepoollet.New(ctx, restCfg, o) })

	wc, err := client.NewWithWatch(e.Config, client.Options{Scheme: e.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	created, running := map[string]time.Time{}, map[string]time.Time{}
	done := make(chan struct{})
	seen := func(m *computev1alpha1.Machine) {
		if m.Status.State != computev1alpha1.MachineStateRunning {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := running[m.Name]; !ok {
			running[m.Name] = time.Now()
			if len(running) == n {
				close(done)
			}
		}
	}
	// The apiserver may end a watch at any time: list and watch again from there.
	go func() {
		for ctx.Err() == nil {
			list := &computev1alpha1.MachineList{}
			if err := wc.List(ctx, list, client.InNamespace("default")); err != nil {
				continue
			}
			for i := range list.Items {
				seen(&list.Items[i])
			}
			w, err := wc.Watch(ctx, &computev1alpha1.MachineList{}, client.InNamespace("default"), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
			if err != nil {
				continue
			}
			for ev := range w.ResultChan() {
				if m, ok := ev.Object.(*computev1alpha1.Machine); ok && ev.Type != watch.Deleted {
					seen(m)
				}
			}
		}
	}()

	writes.Store(0)
	statusWrites.Store(0)
	start := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				m := newMachine(fmt.Sprintf("m-%05d", i))
				if err := e.Client.Create(ctx, m); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				created[m.Name] = time.Now()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	createRate := float64(n) / time.Since(start).Seconds()
	select {
	case <-done:
	case <-time.After(time.Duration(n) * 100 * time.Millisecond):
		mu.Lock()
		defer mu.Unlock()
		b.Fatalf("only %d of %d machines Running", len(running), n)
	}
	total := time.Since(start)
	mu.Lock()
	lat := make([]time.Duration, 0, n)
	for name, c := range created {
		lat = append(lat, max(running[name].Sub(c), 0))
	}
	mu.Unlock()
	slices.Sort(lat)
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(writes.Load())/float64(n), "writes/machine")
	b.ReportMetric(float64(statusWrites.Load())/float64(n), "status-writes/machine")
	b.ReportMetric(float64(n)/total.Seconds(), "machines/s")
	// Reference: how fast this apiserver accepted the creates themselves.
	b.ReportMetric(createRate, "creates/s")
	// Poollet, memory provider and the test's watch client share this process.
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(selfRSS())/(1<<20), "process-RSS-MiB")
	if path := os.Getenv("BENCH_HEAP_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
}

func selfRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
