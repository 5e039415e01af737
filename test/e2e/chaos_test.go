package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/localfed"
)

// TestChaos is the bounded chaos probe of issue 18: 15 random apiserver kills and etcd stops in
// the region and the leaf, with machine creates and deletes in flight at the root. Kept lean for
// make test: short outages (0.2–1.2 s; restarting an apiserver costs seconds on its own) and a
// create every 2 s. Afterwards:
// nothing lost (every kept machine Running with one counterpart per level), nothing duplicated
// (follow fails on two), nothing orphaned, the root's pools Ready, and how long after the last
// recovery the federation converged (printed; the assertion is on the state).
func TestChaos(t *testing.T) {
	const faults = 15
	seed := time.Now().UnixNano()
	if s := os.Getenv("IRONFED_CHAOS_SEED"); s != "" { // replays a run's faults (not its timing)
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("IRONFED_CHAOS_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	ns := newNamespace(t, "chaos")
	root := fed.Client("root")

	var mu sync.Mutex
	var kept, deleted []*computev1alpha1.Machine
	stop := make(chan struct{})
	var load sync.WaitGroup
	load.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
			m := newMachine(ns, fmt.Sprintf("m%d", i), false)
			if err := root.Create(context.Background(), m); err != nil {
				t.Errorf("create %s at the root (never faulted): %v", m.Name, err)
				continue
			}
			mu.Lock()
			if i%3 == 2 && len(kept) > 0 { // delete an earlier one while its chain may be half-built
				victim := kept[0]
				kept = kept[1:]
				if err := root.Delete(context.Background(), victim); err != nil {
					t.Errorf("delete %s: %v", victim.Name, err)
				}
				deleted = append(deleted, victim)
			}
			kept = append(kept, m)
			mu.Unlock()
		}
	})

	type fault struct {
		what         string
		break_, mend func(context.Context) error
	}
	var menu []fault
	for _, name := range []string{"region", "leaf"} {
		c := fed.Cluster(name)
		menu = append(menu,
			fault{name + " apiserver killed", func(context.Context) error { return c.APIServer.Kill() }, c.APIServer.Start},
			fault{name + " etcd stopped", func(context.Context) error { return c.Etcd.Stop() }, c.Etcd.Start})
	}
	informersBefore := informerCounters(t)
	start := time.Now()
	for i := range faults {
		f := menu[rng.IntN(len(menu))]
		if err := f.break_(t.Context()); err != nil {
			t.Fatalf("fault %d (%s): %v", i, f.what, err)
		}
		time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond)
		mend := time.Now()
		if err := f.mend(t.Context()); err != nil {
			t.Fatalf("recovering from fault %d (%s): %v", i, f.what, err)
		}
		t.Logf("fault %2d: %s, serving again after a %s restart", i+1, f.what, time.Since(mend).Round(100*time.Millisecond))
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
	}
	lastRecovery := time.Now()
	close(stop)
	load.Wait()
	t.Logf("%d faults in %s; %d machines kept, %d deleted while they happened", faults, lastRecovery.Sub(start).Round(100*time.Millisecond), len(kept), len(deleted))

	// Converged: every kept machine Running with a complete chain, every deleted one gone at
	// every level, and the root's pools Ready.
	poolsReady := func(ctx context.Context) (bool, string, error) {
		for _, kind := range localfed.Kinds {
			if ok, why, err := localfed.PoolStatus(ctx, root, localfed.PoolRef{Cluster: "root", Kind: kind, Name: "region"}); err != nil || !ok {
				return false, kind + "pool: " + why, err
			}
		}
		return true, "", nil
	}
	tl := startTimeline(lastRecovery, []milestone{{"root pools Ready", func(ctx context.Context) bool {
		ok, _, err := poolsReady(ctx)
		return err == nil && ok
	}}})
	progress := &stuckLog{start: lastRecovery}
	eventually(t, "the federation converges after the last fault", func(ctx context.Context) (bool, string, error) {
		if ok, why, err := poolsReady(ctx); err != nil || !ok {
			return false, why, err
		}
		// Every machine short of Running is named, the first few with their whole chain: a
		// federation that does not converge must say where it stands.
		var stuck, short []string
		for _, m := range kept {
			if err := get(ctx, "root", m); err != nil {
				return false, "", err
			}
			cp, err := follow(ctx, "machine", m)
			if err != nil {
				return false, "", err
			}
			if m.Status.State == computev1alpha1.MachineStateRunning && cp.complete() {
				continue
			}
			what := fmt.Sprintf("%s is %q, %d levels, provider %q", m.Name, m.Status.State, len(cp.objs), cp.leafID)
			short = append(short, what)
			if len(stuck) < 3 {
				what += describeMachineChain(ctx, m)
			}
			stuck = append(stuck, what)
		}
		progress.note(strings.Join(short, "; "))
		if len(stuck) > 0 {
			return false, fmt.Sprintf("%d of %d machines not Running with a complete chain:\n%s", len(stuck), len(kept), strings.Join(stuck, "\n")), nil
		}
		for _, m := range deleted {
			if err := get(ctx, "root", m); err == nil {
				return false, m.Name + " still at the root:" + describeMachineChain(ctx, m), nil
			}
		}
		return true, "", nil
	})
	t.Logf("converged %s after the last recovery: %d machines Running with one counterpart per level, 0 lost, 0 duplicated; timeline:%s", time.Since(lastRecovery).Round(100*time.Millisecond), len(kept), tl.stop()+progress.String())
	informersAfter := informerCounters(t)
	t.Logf("informers of every component through the faults: %.0f watches resumed, %.0f resynced after 410 Expired, %.0f reflector relists (each one waits out the reflector's backoff)",
		informersAfter["ironfed_informer_watch_resumes_total"]-informersBefore["ironfed_informer_watch_resumes_total"],
		informersAfter["ironfed_informer_watch_resyncs_total"]-informersBefore["ironfed_informer_watch_resyncs_total"],
		informersAfter["ironfed_informer_relists_total"]-informersBefore["ironfed_informer_relists_total"])

	for _, m := range kept {
		if err := root.Delete(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "namespace empty at the root", func(ctx context.Context) (bool, string, error) {
		l := &computev1alpha1.MachineList{}
		if err := root.List(ctx, l); err != nil {
			return false, "", err
		}
		n := 0
		for _, m := range l.Items {
			if m.Namespace == ns {
				n++
			}
		}
		return n == 0, fmt.Sprintf("%d machines left", n), nil
	})
	assertNoOrphans(t) // 0 orphaned at any level, and in the providers
}

// informerCounters sums the ironfed_informer_* counters of every informer in this process (the
// federation's components run in it) over their kinds.
func informerCounters(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "ironfed_informer_") {
			continue
		}
		for _, m := range f.GetMetric() {
			out[f.GetName()] += m.GetCounter().GetValue()
		}
	}
	return out
}

// stuckLog records what the convergence probe found short, each time it changed: a slow
// convergence says what it waited for.
type stuckLog struct {
	start time.Time
	last  string
	lines []string
}

func (l *stuckLog) note(stuck string) {
	if stuck == l.last {
		return
	}
	l.last = stuck
	if stuck == "" {
		stuck = "every machine Running with a complete chain"
	}
	if len(stuck) > 300 {
		stuck = stuck[:300] + "…"
	}
	l.lines = append(l.lines, fmt.Sprintf("\n      +%5.1fs %s", time.Since(l.start).Seconds(), stuck))
}

func (l *stuckLog) String() string { return strings.Join(l.lines, "") }
