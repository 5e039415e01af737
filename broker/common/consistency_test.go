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
