package common

import (
	"context"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// How long a write waits for the cache to show it (read-your-writes: an
// IRI client that lists right after a create or update must see it).
const (
	cacheWaitTimeout  = 5 * time.Second
	cacheWaitInterval = 2 * time.Millisecond
)

// newerOrSame says whether resourceVersion got is at least want. Resource
// versions are opaque in general but etcd's are increasing integers; if
// they are not, only equality counts.
func newerOrSame(got, want string) bool {
	if got == want {
		return true
	}
	g, err1 := strconv.ParseUint(got, 10, 64)
	w, err2 := strconv.ParseUint(want, 10, 64)
	return err1 == nil && err2 == nil && g >= w
}

// WaitCached waits until the cache holds obj's key at obj's resourceVersion
// or later. It gives up silently after a few seconds: the write succeeded,
// the cache is only late.
func (b *Broker) WaitCached(ctx context.Context, obj client.Object) {
	rv := obj.GetResourceVersion()
	if rv == "" {
		return
	}
	key := client.ObjectKeyFromObject(obj)
	cur := obj.DeepCopyObject().(client.Object)
	b.waitCache(ctx, func() bool {
		return b.D.Cache.Get(ctx, key, cur) == nil && newerOrSame(cur.GetResourceVersion(), rv)
	})
}

// WaitGone waits until the cache no longer holds obj's key (or shows it
// being deleted).
func (b *Broker) WaitGone(ctx context.Context, obj client.Object) {
	key := client.ObjectKeyFromObject(obj)
	cur := obj.DeepCopyObject().(client.Object)
	b.waitCache(ctx, func() bool {
		err := b.D.Cache.Get(ctx, key, cur)
		return client.IgnoreNotFound(err) == nil && (err != nil || cur.GetDeletionTimestamp() != nil)
	})
}

func (b *Broker) waitCache(ctx context.Context, done func() bool) {
	ctx, cancel := context.WithTimeout(ctx, cacheWaitTimeout)
	defer cancel()
	t := time.NewTicker(cacheWaitInterval)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			b.Log.V(1).Info("The downstream cache did not show a write in time; reads may lag")
			return
		case <-t.C:
		}
	}
}
