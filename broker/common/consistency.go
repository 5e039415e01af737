package common

import (
	"context"
	"hash/maphash"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// cacheWaitTimeout bounds how long a write waits for the cache to show it
// (read-your-writes: an IRI client that lists right after a create or update
// must see it). It is a safety net: waiters are woken by informer events.
const cacheWaitTimeout = 5 * time.Second

// waitKey names one object of one Go type.
type waitKey struct {
	typ             reflect.Type
	namespace, name string
}

func keyOf(o client.Object) waitKey {
	return waitKey{typ: reflect.TypeOf(o), namespace: o.GetNamespace(), name: o.GetName()}
}

// cacheWaiter waits for one key: at resourceVersion rv, or gone.
type cacheWaiter struct {
	rv   string
	gone bool
	done chan struct{}
	once sync.Once
}

func (w *cacheWaiter) wake() { w.once.Do(func() { close(w.done) }) }

// waiters are per-key waiters woken by the informers' event handlers: an
// object is cached at a written resourceVersion when an event carries it
// (or moves on from it); it is gone on its delete event. Resource versions
// are compared only for equality (they are opaque).
type waiters struct {
	mu      sync.Mutex
	waiting atomic.Int64
	m       map[waitKey][]*cacheWaiter
	// seen remembers the resourceVersions events carried recently, for a
	// write whose event arrives before its waiter is registered.
	seen *recentSet
	// tracked are the types whose informers have the handler.
	tracked sync.Map // reflect.Type -> struct{}
}

type seenKey struct {
	waitKey
	rv string
}

// recentEvents bounds the waiters' memory of recent events: a write's waiter is registered
// right after its answer, so only the events of that moment matter (a waiter that misses its
// event finds the object in the cache, or at worst waits out cacheWaitTimeout).
const recentEvents = 8192

func newWaiters() *waiters {
	return &waiters{m: map[waitKey][]*cacheWaiter{}, seen: newRecentSet(recentEvents)}
}

// recentSet holds the last n keys added, as 64-bit hashes in a ring: ~24 bytes a key instead of
// ~300 for an LRU of the keys' strings (docs/performance.md). Two keys hashing alike (about one
// in 2^64) would make a write return before the cache shows it, as a timed-out wait does.
type recentSet struct {
	mu    sync.Mutex
	seed  maphash.Seed
	ring  []uint64
	next  int
	count map[uint64]uint16 // hash -> occurrences in ring
}

func newRecentSet(n int) *recentSet {
	return &recentSet{seed: maphash.MakeSeed(), ring: make([]uint64, 0, n), count: make(map[uint64]uint16, n)}
}

func (r *recentSet) hash(k seenKey) uint64 { return maphash.Comparable(r.seed, k) }

func (r *recentSet) Add(k seenKey) {
	h := r.hash(k)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, h)
	} else {
		old := r.ring[r.next]
		if r.count[old] <= 1 {
			delete(r.count, old)
		} else {
			r.count[old]--
		}
		r.ring[r.next] = h
		r.next = (r.next + 1) % len(r.ring)
	}
	r.count[h]++
}

func (r *recentSet) Contains(k seenKey) bool {
	h := r.hash(k)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[h] > 0
}

// handler returns the event handler that wakes waiters of one informer.
//
// The objects of the initial list are not remembered as seen: no write of this process can be
// waiting for them (writes start once the cache has synced), and at 10k objects they filled the
// memory of recent events at startup for nothing.
func (ws *waiters) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, isInInitialList bool) {
			if o, ok := obj.(client.Object); ok && !isInInitialList {
				ws.observe(o, "")
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(client.Object)
			n, ok2 := newObj.(client.Object)
			if ok1 && ok2 {
				ws.observe(n, o.GetResourceVersion())
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if o, ok := obj.(client.Object); ok {
				ws.deleted(keyOf(o))
			}
		},
	}
}

// observe notes that the cache holds o, which replaced the version prev
// ("" for an add): waiters for o's or prev's version are done (prev was
// cached and superseded), and so are gone-waiters once o is being deleted.
//
// A resync's update (prev equal to o's version) is not remembered again: the cache held that
// version before.
func (ws *waiters) observe(o client.Object, prev string) {
	k := keyOf(o)
	if rv := o.GetResourceVersion(); rv != prev {
		ws.seen.Add(seenKey{k, rv})
	}
	if ws.waiting.Load() == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	deleting := o.GetDeletionTimestamp() != nil
	for _, w := range ws.m[k] {
		if w.gone && deleting || !w.gone && (w.rv == o.GetResourceVersion() || w.rv == prev) {
			w.wake()
		}
	}
}

// deleted wakes every waiter of k: nothing it waits for can come later.
func (ws *waiters) deleted(k waitKey) {
	if ws.waiting.Load() == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, w := range ws.m[k] {
		w.wake()
	}
}

func (ws *waiters) add(k waitKey, w *cacheWaiter) func() {
	ws.mu.Lock()
	ws.m[k] = append(ws.m[k], w)
	ws.waiting.Add(1)
	ws.mu.Unlock()
	return func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		list := ws.m[k]
		for i, x := range list {
			if x == w {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(ws.m, k)
		} else {
			ws.m[k] = list
		}
		ws.waiting.Add(-1)
	}
}

// TrackWrites adds the waiters' handler to the informers of objs (every
// type a write waits for); call it before the cache starts.
func (d *Downstream) TrackWrites(ctx context.Context, objs ...client.Object) error {
	for _, o := range objs {
		t := reflect.TypeOf(o)
		if _, dup := d.waiters.tracked.LoadOrStore(t, struct{}{}); dup {
			continue
		}
		inf, err := d.Cache.GetInformer(ctx, o)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(d.waiters.handler()); err != nil {
			return err
		}
	}
	return nil
}

// WaitCached waits until the cache holds obj's key at obj's resourceVersion
// (or a version that replaced it). It gives up silently after
// cacheWaitTimeout: the write succeeded, the cache is only late.
func (b *Broker) WaitCached(ctx context.Context, obj client.Object) {
	rv := obj.GetResourceVersion()
	if rv == "" {
		return
	}
	k := keyOf(obj)
	w := &cacheWaiter{rv: rv, done: make(chan struct{})}
	defer b.D.waiters.add(k, w)()
	if b.D.waiters.seen.Contains(seenKey{k, rv}) {
		return
	}
	cur := obj.DeepCopyObject().(client.Object)
	if b.D.Cache.Get(ctx, client.ObjectKeyFromObject(obj), cur) == nil && cur.GetResourceVersion() == rv {
		return
	}
	b.wait(ctx, w, k)
}

// WaitGone waits until the cache no longer holds obj's key (or shows it
// being deleted).
func (b *Broker) WaitGone(ctx context.Context, obj client.Object) {
	k := keyOf(obj)
	w := &cacheWaiter{gone: true, done: make(chan struct{})}
	defer b.D.waiters.add(k, w)()
	cur := obj.DeepCopyObject().(client.Object)
	err := b.D.Cache.Get(ctx, client.ObjectKeyFromObject(obj), cur)
	if client.IgnoreNotFound(err) == nil && (err != nil || cur.GetDeletionTimestamp() != nil) {
		return
	}
	b.wait(ctx, w, k)
}

func (b *Broker) wait(ctx context.Context, w *cacheWaiter, k waitKey) {
	if _, ok := b.D.waiters.tracked.Load(k.typ); !ok {
		b.Log.V(1).Info("No informer events for this type; not waiting for the cache", "type", k.typ.String())
		return
	}
	t := time.NewTimer(cacheWaitTimeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-ctx.Done():
	case <-t.C:
		b.Log.V(1).Info("The downstream cache did not show a write in time; reads may lag", "name", k.name, "type", k.typ.String())
	}
}
