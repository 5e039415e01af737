// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/benchproc"
	"github.com/ironfed/ironfed/test/framework"
)

// BenchmarkBoundToRunning measures, for IRONFED_BENCH_MACHINES (default 1000) Machines created
// already bound to the pool, the latency from the create's answer to status Running as seen by a
// watch, the poollet's apiserver writes per machine, and the memory of the poollet process once
// it is at rest (queue empty, no write for 5 s) with all of them Running.
//
// The poollet (cmd/machinepoollet) and the memory provider (cmd/memory-provider, on a unix
// socket) run as processes of their own, so the poollet's RSS is its own: the provider's RSS is
// printed beside it as the same-run reference. IRONFED_BENCH_POOLLET_BIN runs that machinepoollet
// build instead of building this tree's; BENCH_HEAP_PROFILE=path saves the poollet's heap profile
// (from its --pprof-bind-address) at rest.
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
	poolletBin := benchproc.Build(b, "github.com/ironfed/ironfed/cmd/machinepoollet", os.Getenv("IRONFED_BENCH_POOLLET_BIN"))
	providerBin := benchproc.Build(b, "github.com/ironfed/ironfed/cmd/memory-provider", "")
	c := framework.StartClusters(b, framework.ClustersInput{Names: []string{"poollet"}, WithoutControllerManager: true})[0]
	scheme, err := core.NewScheme()
	if err != nil {
		b.Fatal(err)
	}
	wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if err := wc.Create(ctx, &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: class}}); err != nil {
		b.Fatal(err)
	}

	dir := b.TempDir()
	cfg := memory.DefaultConfig()
	cfg.MachineClasses[0].Capacity = int64(n)
	cfgFile := filepath.Join(dir, "provider.yaml")
	if data, err := yaml.Marshal(cfg); err != nil {
		b.Fatal(err)
	} else if err := os.WriteFile(cfgFile, data, 0o600); err != nil {
		b.Fatal(err)
	}
	sock := filepath.Join(dir, "machine.sock")
	provider := benchproc.Start(b, providerBin, "--runtimes", "machine", "--machine-socket", sock, "--config", cfgFile,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")

	writes, statusWrites := &atomic.Int64{}, &atomic.Int64{}
	proxy := startCountingProxy(b, c.Config, writes, statusWrites)
	metricsAddr, pprofAddr := benchproc.FreeAddr(b), benchproc.FreeAddr(b)
	poollet := benchproc.Start(b, poolletBin, "--kubeconfig", proxy.kubeconfig,
		"--machine-pool-name", pool, "--provider-id", "memory://"+pool, "--machine-runtime-endpoint", "unix://"+sock,
		// As the in-process bench had it: events forwarded every 500ms, so the writes counted
		// when the last machine is Running include nearly all of them.
		"--pool-status-period", "10s", "--heartbeat-interval", "10s", "--relist-period", "500ms",
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", "0", "--pprof-bind-address", pprofAddr)
	waitPoolletListening(b, poollet, provider, metricsAddr)

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
				if err := wc.Create(ctx, m); err != nil {
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
		b.Fatalf("only %d of %d machines Running; poollet log:\n%s", len(running), n, poollet.Tail(4096))
	}
	total := time.Since(start)
	mu.Lock()
	lat := make([]time.Duration, 0, n)
	for name, c := range created {
		lat = append(lat, max(running[name].Sub(c), 0))
	}
	mu.Unlock()
	slices.Sort(lat)
	// The poollet is still busy when the last machine turns Running (forwarding events, the
	// echoes of its own status writes in its queue): measure it at rest.
	writesAtRunning := writes.Load()
	waitIdle(b, poollet, metricsAddr, writes)
	// Forwarded events lag under load: writes/machine counts them all, at rest.
	b.ReportMetric(float64(writesAtRunning)/float64(n), "writes-when-all-running/machine")
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(writes.Load())/float64(n), "writes/machine")
	b.ReportMetric(float64(statusWrites.Load())/float64(n), "status-writes/machine")
	b.ReportMetric(float64(n)/total.Seconds(), "machines/s")
	// Reference: how fast this apiserver accepted the creates themselves.
	b.ReportMetric(createRate, "creates/s")

	// The lowest of 20 samples over 10 s once the poollet is at rest, as for the broker.
	rss := benchproc.LowestRSS(20, 500*time.Millisecond, poollet, provider)
	b.ReportMetric(float64(rss[0])/(1<<20), "poollet-RSS-MiB")
	// Reference: the memory provider holding the same 10k machines, in the same run.
	b.ReportMetric(float64(rss[1])/(1<<20), "provider-RSS-MiB")
	// The profile's ?gc=1 collects first, so the heap read next is what survives a collection.
	if err := benchproc.HeapProfile(pprofAddr, os.Getenv("BENCH_HEAP_PROFILE")); err != nil {
		b.Fatal(err)
	}
	// In use: the heap's spans, free slots in them included; live: the objects themselves.
	for series, unit := range map[string]string{"go_memstats_heap_inuse_bytes": "poollet-heap-MiB", "go_memstats_heap_alloc_bytes": "poollet-live-heap-MiB"} {
		v, err := benchproc.Metric("http://"+metricsAddr+"/metrics", series)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(v/(1<<20), unit)
	}
}

// waitIdle waits until the poollet's queue is empty and it has written nothing for 5 s (at most
// 5 min), so the writes counted include the forwarded events and memory is measured at rest.
func waitIdle(b *testing.B, poollet *benchproc.Process, metricsAddr string, writes *atomic.Int64) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	last, quiet := writes.Load(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if w := writes.Load(); w != last {
			last, quiet = w, time.Now()
			continue
		}
		depth, err := benchproc.Metric("http://"+metricsAddr+"/metrics", `workqueue_depth{controller="machinepoollet"`)
		if err == nil && depth == 0 && time.Since(quiet) >= 5*time.Second {
			return
		}
	}
	b.Fatalf("poollet still busy after 5 min:\n%s", poollet.Tail(4096))
}

// waitPoolletListening waits until the poollet serves /metrics, failing early when it or the
// provider exits (a flag this build does not know, a socket that is not there).
func waitPoolletListening(b *testing.B, poollet, provider *benchproc.Process, metricsAddr string) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := benchproc.Metric("http://"+metricsAddr+"/metrics", "go_goroutines"); err == nil {
			return
		}
		for name, p := range map[string]*benchproc.Process{"poollet": poollet, "provider": provider} {
			if p.Exited() {
				b.Fatalf("%s exited:\n%s", name, p.Tail(4096))
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("poollet does not serve /metrics:\n%s", poollet.Tail(4096))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
