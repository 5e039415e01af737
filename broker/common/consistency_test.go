package common

import (
	"context"
	"runtime"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
)

// A write's waiter is woken by the informer event that carries it, long
// before the safety-net timeout, and leaves no waiter or goroutine behind.
func TestWaitCachedWokenByEvent(t *testing.T) {
	c := fakeClient()
	s := startFakeStore(t, c, nil)
	ctx := context.Background()
	before := runtime.NumGoroutine()
	for i := range 20 {
		m := brokeredMachine(i, "")
		if err := c.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		s.WaitCached(ctx, m)
		if d := time.Since(start); d >= cacheWaitTimeout {
			t.Fatalf("create %d: WaitCached returned by its timeout (%s), not by the informer event", i, d)
		}
		cur := &computev1alpha1.Machine{}
		if err := s.D.Cache.Get(ctx, client.ObjectKeyFromObject(m), cur); err != nil || cur.ResourceVersion != m.ResourceVersion {
			t.Fatalf("create %d: cache has %q (%v) after WaitCached, want resourceVersion %q", i, cur.ResourceVersion, err, m.ResourceVersion)
		}
		patch := client.MergeFrom(m.DeepCopy())
		m.Annotations["x"] = "y"
		if err := c.Patch(ctx, m, patch); err != nil {
			t.Fatal(err)
		}
		s.WaitCached(ctx, m)
		if err := s.D.Cache.Get(ctx, client.ObjectKeyFromObject(m), cur); err != nil || cur.ResourceVersion != m.ResourceVersion {
			t.Fatalf("patch %d: cache has %q after WaitCached, want %q", i, cur.ResourceVersion, m.ResourceVersion)
		}
		if err := c.Delete(ctx, m); err != nil {
			t.Fatal(err)
		}
		s.WaitGone(ctx, m)
		if err := s.D.Cache.Get(ctx, client.ObjectKeyFromObject(m), cur); err == nil {
			t.Fatalf("delete %d: still cached after WaitGone", i)
		}
	}
	if n := s.D.waiters.waiting.Load(); n != 0 {
		t.Fatalf("%d waiters left registered", n)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Fatalf("goroutines grew from %d to %d", before, after)
	}
}

// A waiter for a version the cache will never show gives up at ctx's end
// (and at the timeout otherwise) and unregisters.
func TestWaitCachedGivesUp(t *testing.T) {
	s := startFakeStore(t, fakeClient(), nil)
	m := brokeredMachine(1, "")
	m.ResourceVersion = "never"
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.WaitCached(ctx, m)
	if ctx.Err() == nil {
		t.Fatal("WaitCached returned before its context ended for a version that never comes")
	}
	if n := s.D.waiters.waiting.Load(); n != 0 {
		t.Fatalf("%d waiters left registered", n)
	}
}

// Superseded versions count: a waiter whose version the cache already
// replaced (an update event moving on from it) is woken.
func TestWaiterSeesSupersededVersion(t *testing.T) {
	ws := newWaiters()
	old, cur := brokeredMachine(1, ""), brokeredMachine(1, "")
	old.ResourceVersion, cur.ResourceVersion = "5", "7"
	w := &cacheWaiter{rv: "5", done: make(chan struct{})}
	done := ws.add(keyOf(old), w)
	defer done()
	ws.handler().OnUpdate(old, cur)
	select {
	case <-w.done:
	default:
		t.Fatal("waiter for version 5 not woken by the update 5 -> 7")
	}
	gone := &cacheWaiter{gone: true, done: make(chan struct{})}
	defer ws.add(keyOf(cur), gone)()
	deleting := cur.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	ws.handler().OnUpdate(cur, deleting)
	select {
	case <-gone.done:
	default:
		t.Fatal("gone-waiter not woken by the deletion timestamp")
	}
}

// The memory of recent events holds the last n keys: older ones are forgotten, a key added
// twice stays until its last occurrence leaves the ring.
func TestRecentSetBounded(t *testing.T) {
	r := newRecentSet(3)
	k := func(rv string) seenKey { return seenKey{keyOf(brokeredMachine(1, "")), rv} }
	for _, rv := range []string{"1", "2", "1", "3"} { // "1" twice; the first "1" leaves at "3"
		r.Add(k(rv))
	}
	for rv, want := range map[string]bool{"1": true, "2": true, "3": true, "4": false} {
		if got := r.Contains(k(rv)); got != want {
			t.Errorf("after 1 2 1 3: Contains(%s) = %v, want %v", rv, got, want)
		}
	}
	r.Add(k("4")) // 2 leaves
	r.Add(k("5")) // the second 1 leaves
	for rv, want := range map[string]bool{"1": false, "2": false, "3": true, "4": true, "5": true} {
		if got := r.Contains(k(rv)); got != want {
			t.Errorf("after 1 2 1 3 4 5: Contains(%s) = %v, want %v", rv, got, want)
		}
	}
	if len(r.count) != 3 {
		t.Errorf("%d hashes counted, want 3", len(r.count))
	}
}

// The initial list's objects are not remembered (no write of this process waits for them);
// later adds and updates are, a resync's update (same version) is not added again.
func TestWaitersRememberOnlyNewEvents(t *testing.T) {
	ws := newWaiters()
	h := ws.handler()
	m := brokeredMachine(1, "")
	m.ResourceVersion = "5"
	h.OnAdd(m, true)
	if ws.seen.Contains(seenKey{keyOf(m), "5"}) {
		t.Error("an object of the initial list is remembered as seen")
	}
	h.OnUpdate(m, m)
	if ws.seen.Contains(seenKey{keyOf(m), "5"}) {
		t.Error("a resync's update is remembered as seen")
	}
	n := brokeredMachine(2, "")
	n.ResourceVersion = "6"
	h.OnAdd(n, false)
	cur := m.DeepCopy()
	cur.ResourceVersion = "7"
	h.OnUpdate(m, cur)
	if !ws.seen.Contains(seenKey{keyOf(n), "6"}) || !ws.seen.Contains(seenKey{keyOf(cur), "7"}) {
		t.Error("an add or update after the initial list is not remembered as seen")
	}
}
