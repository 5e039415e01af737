// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"slices"
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

// index finds IRI objects by the poollet labels of the Kubernetes object they stand for. It is
// fed by the Watcher, so a reconcile never lists the runtime.
type index[I remote.Object] struct {
	kind    labels.Kind
	watcher *remote.Watcher[I]
	newObj  func() client.Object
	events  chan event.GenericEvent

	mu sync.Mutex
	// Ids by owner; nearly always one, so a slice (a map per owner cost ~10x the memory).
	byUID  map[string][]string
	byName map[types.NamespacedName][]string
	// created holds objects we created that the Watcher has not reported yet, so a reconcile
	// in between does not create again (upstream runtimes mint a new id per create).
	created map[string]I
}

func newIndex[I remote.Object](kind labels.Kind, w *remote.Watcher[I], newObj func() client.Object) *index[I] {
	return &index[I]{
		kind: kind, watcher: w, newObj: newObj,
		events:  make(chan event.GenericEvent, 1024),
		byUID:   map[string][]string{},
		byName:  map[types.NamespacedName][]string{},
		created: map[string]I{},
	}
}

func (x *index[I]) owner(obj I) (uid string, key types.NamespacedName, ok bool) {
	l := obj.GetMetadata().GetLabels()
	uid = l[labels.UIDLabel(x.kind)]
	key = types.NamespacedName{Namespace: l[labels.NamespaceLabel(x.kind)], Name: l[labels.NameLabel(x.kind)]}
	return uid, key, uid != "" && key.Name != ""
}

// handle is the Watcher's handler: it updates the index and enqueues the owner. It gives up
// enqueueing when ctx ends (the controller no longer drains the channel at shutdown).
func (x *index[I]) handle(ctx context.Context, ev remote.Event[I]) {
	if ev.Type == remote.Synced {
		return
	}
	uid, key, ok := x.owner(ev.Object)
	if !ok {
		return // not ours
	}
	id := ev.Object.GetMetadata().GetId()
	x.mu.Lock()
	delete(x.created, uid)
	if ev.Type == remote.Deleted {
		remove(x.byUID, uid, id)
		remove(x.byName, key, id)
	} else {
		add(x.byUID, uid, id)
		add(x.byName, key, id)
	}
	x.mu.Unlock()
	o := x.newObj()
	o.SetNamespace(key.Namespace)
	o.SetName(key.Name)
	select {
	case x.events <- event.GenericEvent{Object: o}:
	case <-ctx.Done():
	}
}

// forUID returns the cached IRI objects labelled with uid, oldest first.
func (x *index[I]) forUID(uid string) []I {
	x.mu.Lock()
	ids := slices.Clone(x.byUID[uid])
	created, pending := x.created[uid]
	x.mu.Unlock()
	out := x.resolve(ids)
	if pending && len(out) == 0 {
		out = append(out, created)
	}
	return out
}

// remember records an object we just created until the Watcher reports it.
func (x *index[I]) remember(uid string, obj I) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, known := x.byUID[uid]; !known {
		x.created[uid] = obj
	}
}

// forgetCreated drops the remembered create of uid if it is id and the Watcher never reported it:
// the runtime has answered its delete, so nothing is left to wait for unless the Watcher says so.
// Without this a create whose object the runtime never reported (it was deleted downstream before
// the runtime's cache saw it, in TestChaos) kept its owner's deletion waiting forever.
func (x *index[I]) forgetCreated(uid, id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if c, ok := x.created[uid]; ok && c.GetMetadata().GetId() == id && !slices.Contains(x.byUID[uid], id) {
		delete(x.created, uid)
	}
}

func (x *index[I]) forName(key types.NamespacedName) []I {
	x.mu.Lock()
	ids := slices.Clone(x.byName[key])
	x.mu.Unlock()
	return x.resolve(ids)
}

func (x *index[I]) resolve(ids []string) []I {
	var out []I
	for _, id := range ids {
		if o, ok := x.watcher.Get(id); ok {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].GetMetadata(), out[j].GetMetadata()
		if a.GetCreatedAt() != b.GetCreatedAt() {
			return a.GetCreatedAt() < b.GetCreatedAt()
		}
		return a.GetId() < b.GetId()
	})
	return out
}

func add[K comparable](m map[K][]string, k K, id string) {
	if !slices.Contains(m[k], id) {
		m[k] = append(m[k], id)
	}
}

func remove[K comparable](m map[K][]string, k K, id string) {
	ids := slices.DeleteFunc(m[k], func(s string) bool { return s == id })
	if len(ids) == 0 {
		delete(m, k)
	} else {
		m[k] = ids
	}
}
