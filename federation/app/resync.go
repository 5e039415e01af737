// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// A restarted apiserver (or one whose etcd watch broke) rebuilds its watch cache from a fresh
// list, and a watch resumed from an older resource version is answered 410 Expired. Handing that
// to the reflector makes it relist, but only after its backoff, which grows with every relist
// (0.8 s doubling to 30 s, plus as much jitter) and resets only after two quiet minutes: after a
// series of faults an informer slept up to a minute with no watch, and a scheduler placed a
// Machine on a pool tainted a second earlier (issue 18). So a resumed watch that expires catches
// up by itself: it lists, sends the difference to what it delivered as events, and watches on
// from the list's resource version. The reflector never sees the gap.

var (
	watchResumes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_informer_watch_resumes_total",
		Help: "Watch streams that ended (apiserver restart, watch timeout) and were resumed from the last resource version delivered.",
	}, []string{"kind"})
	watchResyncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_informer_watch_resyncs_total",
		Help: "Resumed watches answered 410 Expired that caught up with a list and its difference as events, instead of a reflector relist after backoff.",
	}, []string{"kind"})
	reflectorRelists = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_informer_relists_total",
		Help: "Full lists (paged or streamed) that a reflector started: one at start, more only when a watch could not be healed.",
	}, []string{"kind"})
)

func init() { ctrlmetrics.Registry.MustRegister(watchResumes, watchResyncs, reflectorRelists) }

// delivered is the last object of every key that one ResumingListWatch delivered to its
// reflector: what the reflector's store holds. The objects are the store's own (the informers'
// transforms work in place), so it costs a map entry per object. It is not read off the
// informer's store because the store lags the events already handed over (they wait in the
// DeltaFIFO): an object added there and deleted before a resync would stay forever. epoch counts
// full lists; a watch of an older list neither updates nor reads it.
type delivered struct {
	mu      sync.Mutex
	epoch   uint64
	objs    map[string]runtime.Object
	pending map[string]runtime.Object // a paged list in progress
}

func objectKey(obj runtime.Object) (string, bool) {
	key, err := toolscache.MetaNamespaceKeyFunc(obj)
	return key, err == nil
}

// listed records a page of a list the reflector asked for; the last page makes it current.
func (d *delivered) listed(opts metav1.ListOptions, list runtime.Object) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if opts.Continue == "" || d.pending == nil {
		d.pending = make(map[string]runtime.Object, len(items))
	}
	for _, obj := range items {
		if key, ok := objectKey(obj); ok {
			d.pending[key] = obj
		}
	}
	if la, err := meta.ListAccessor(list); err == nil && la.GetContinue() == "" {
		d.epoch++
		d.objs, d.pending = d.pending, nil
	}
}

// replace makes objs current (a streamed list ended, or a resync) and returns its epoch.
func (d *delivered) replace(objs map[string]runtime.Object) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.epoch++
	d.objs, d.pending = objs, nil
	return d.epoch
}

func (d *delivered) current() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.epoch
}

// apply records a watch event of epoch's watch.
func (d *delivered) apply(epoch uint64, ev watch.Event) {
	key, ok := objectKey(ev.Object)
	if !ok {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if epoch != d.epoch || d.objs == nil {
		return
	}
	switch ev.Type {
	case watch.Added, watch.Modified:
		d.objs[key] = ev.Object
	case watch.Deleted:
		delete(d.objs, key)
	}
}

// snapshot is a copy of what epoch's watch delivered; false when a newer list replaced it.
func (d *delivered) snapshot(epoch uint64) (map[string]runtime.Object, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if epoch != d.epoch || d.objs == nil {
		return nil, false
	}
	out := make(map[string]runtime.Object, len(d.objs))
	for k, v := range d.objs {
		out[k] = v
	}
	return out, true
}

// expired reports a 410: the resource version a watch asked for is gone from the apiserver's
// watch cache (or compacted in etcd).
func expired(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}

func expiredEvent(ev watch.Event) bool {
	if ev.Type != watch.Error {
		return false
	}
	return expired(apierrors.FromObject(ev.Object))
}

// resync lists what the watch selects and sends the reflector the difference to what it
// delivered: Added for new keys, Modified for changed resource versions, Deleted (with the last
// object it saw) for keys gone. It returns the list's resource version to watch on from; ok is
// false when it cannot heal the watch and the reflector must relist.
func (r *resumingWatch) resync(ctx context.Context) (rv string, ok bool) {
	before, ok := r.lw.delivered.snapshot(r.epoch)
	if !ok {
		return "", false
	}
	opts := metav1.ListOptions{LabelSelector: r.opts.LabelSelector, FieldSelector: r.opts.FieldSelector}
	var list runtime.Object
	if err := retryUnreachable(ctx, func() (err error) {
		list, err = r.lw.Inner.ListWithContext(ctx, opts)
		return err
	}); err != nil {
		return "", false
	}
	la, err := meta.ListAccessor(list)
	if err != nil || la.GetResourceVersion() == "" {
		return "", false
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return "", false
	}
	now := make(map[string]runtime.Object, len(items))
	var events []watch.Event
	for _, obj := range items {
		key, ok := objectKey(obj)
		if !ok {
			continue
		}
		now[key] = obj
		switch old, seen := before[key]; {
		case !seen:
			events = append(events, watch.Event{Type: watch.Added, Object: obj})
		case resourceVersion(old) != resourceVersion(obj):
			events = append(events, watch.Event{Type: watch.Modified, Object: obj})
		}
	}
	for key, old := range before {
		if _, still := now[key]; !still {
			events = append(events, watch.Event{Type: watch.Deleted, Object: old})
		}
	}
	r.epoch = r.lw.delivered.replace(now)
	for _, ev := range events {
		if !r.send(ctx, ev) {
			return "", false
		}
	}
	watchResyncs.WithLabelValues(r.lw.Kind).Inc()
	return la.GetResourceVersion(), true
}

func resourceVersion(obj runtime.Object) string {
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetResourceVersion()
	}
	return ""
}
