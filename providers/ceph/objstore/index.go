package objstore

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/iri/watchhub"
)

// Object is what an Index keeps: a generated IRI object with metadata.
type Object interface {
	proto.Message
	GetMetadata() *metav1alpha1.ObjectMetadata
}

// WatchType says what happened to a watched object (the IRI wire values).
type WatchType = watchhub.Type

const (
	WatchAdded    = watchhub.Added
	WatchModified = watchhub.Modified
	WatchDeleted  = watchhub.Deleted
	WatchBookmark = watchhub.Bookmark
)

// Index is the in-memory view of one kind's objects, whose truth lives in
// Ceph: the runtime rebuilds it on start, changes it after each successful
// Ceph operation, and serves lists and watches from it. Stored objects are
// immutable snapshots; Put replaces them.
type Index[T Object] struct {
	uidLabel string
	events   *EventLog

	mu       sync.RWMutex
	byID     map[string]T
	byUID    map[string]string
	watchers *watchhub.Hub[T]
}

// NewIndex returns an empty index; uidLabel is the poollet UID label of the
// kind, events the runtime's event log, watchBuf each watcher's queue bound.
func NewIndex[T Object](uidLabel string, events *EventLog, watchBuf int) *Index[T] {
	return &Index[T]{
		uidLabel: uidLabel, events: events,
		byID: map[string]T{}, byUID: map[string]string{}, watchers: watchhub.New[T](watchBuf),
	}
}

// Get returns the snapshot of id.
func (ix *Index[T]) Get(id string) (T, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	o, ok := ix.byID[id]
	return o, ok
}

// ByUID returns the object created with the poollet UID label uid.
func (ix *Index[T]) ByUID(uid string) (T, bool) {
	var zero T
	if uid == "" {
		return zero, false
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	id, ok := ix.byUID[uid]
	if !ok {
		return zero, false
	}
	return ix.byID[id], true
}

// Put stores obj (handed over, not to be mutated), records evs about it and
// tells watchers (ADDED for a new id, MODIFIED otherwise).
func (ix *Index[T]) Put(obj T, evs ...Event) {
	md := obj.GetMetadata()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	typ := WatchModified
	if _, ok := ix.byID[md.GetId()]; !ok {
		typ = WatchAdded
	}
	ix.byID[md.GetId()] = obj
	if uid := md.GetLabels()[ix.uidLabel]; uid != "" && ix.uidLabel != "" {
		ix.byUID[uid] = md.GetId()
	}
	if ix.events != nil {
		ix.events.Record(md, evs...)
	}
	ix.watchers.Publish(typ, obj)
}

// Remove drops id, records evs and tells watchers; a missing id is a no-op.
func (ix *Index[T]) Remove(id string, evs ...Event) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	obj, ok := ix.byID[id]
	if !ok {
		return
	}
	delete(ix.byID, id)
	md := obj.GetMetadata()
	if uid := md.GetLabels()[ix.uidLabel]; uid != "" && ix.byUID[uid] == id {
		delete(ix.byUID, uid)
	}
	if ix.events != nil {
		ix.events.Record(md, evs...)
	}
	ix.watchers.Publish(WatchDeleted, obj)
}

// Record records events about an object without changing it.
func (ix *Index[T]) Record(md *metav1alpha1.ObjectMetadata, evs ...Event) {
	if ix.events != nil {
		ix.events.Record(md, evs...)
	}
}

// List returns the snapshots matching f, oldest first. A malformed id in f
// is InvalidArgument; an unknown one matches nothing.
func (ix *Index[T]) List(f Filter) ([]T, error) {
	if f.ID != "" {
		if err := CheckID("filter.id", f.ID); err != nil {
			return nil, err
		}
	}
	ix.mu.RLock()
	out := ix.matchLocked(f)
	ix.mu.RUnlock()
	return out, nil
}

func (ix *Index[T]) matchLocked(f Filter) []T {
	var candidates []T
	switch uid, byUID := f.Labels[ix.uidLabel]; {
	case f.ID != "":
		if o, ok := ix.byID[f.ID]; ok {
			candidates = []T{o}
		}
	case byUID && ix.uidLabel != "":
		if id, ok := ix.byUID[uid]; ok {
			candidates = []T{ix.byID[id]}
		}
	default:
		candidates = make([]T, 0, len(ix.byID))
		for _, o := range ix.byID {
			candidates = append(candidates, o)
		}
	}
	out := make([]T, 0, len(candidates))
	for _, o := range candidates {
		if f.Matches(o.GetMetadata()) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b T) int {
		ma, mb := a.GetMetadata(), b.GetMetadata()
		return cmp.Or(cmp.Compare(ma.GetCreatedAt(), mb.GetCreatedAt()), cmp.Compare(ma.GetId(), mb.GetId()))
	})
	return out
}

// Len returns the number of objects.
func (ix *Index[T]) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Close ends every watch with Unavailable.
func (ix *Index[T]) Close() {
	ix.watchers.Close()
}

// WatchEvent is one change seen by a Watcher.
type WatchEvent[T Object] = watchhub.Event[T]

// Watcher receives the changes of the objects matching its filter through a bounded queue; a
// watcher that falls behind is dropped, never waited for.
type Watcher[T Object] = watchhub.Watcher[T]

// Watch registers a watcher and, with initial, returns the matching objects
// as of the same instant.
func (ix *Index[T]) Watch(f Filter, initial bool) (*Watcher[T], []T, error) {
	if f.ID != "" {
		if err := CheckID("filter.id", f.ID); err != nil {
			return nil, nil, err
		}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var objs []T
	if initial {
		objs = ix.matchLocked(f)
	}
	w, err := ix.watchers.Add(func(o T) bool { return f.Matches(o.GetMetadata()) })
	if err != nil {
		return nil, nil, err
	}
	return w, objs, nil
}

// ServeWatch runs one watch stream: the initial list as ADDED, a BOOKMARK,
// then every change until the client leaves or the watcher is dropped.
// send converts to the kind's event message.
func ServeWatch[T Object](ctx context.Context, ix *Index[T], f Filter, initial bool, send func(WatchType, T, uint64) error) error {
	w, objs, err := ix.Watch(f, initial)
	if err != nil {
		return runtimeerr.ToStatus(err)
	}
	return watchhub.Serve(ctx, w, objs, send)
}

// NewMetadata returns the metadata of a new object from the request's:
// labels and annotations copied, id minted by the caller.
func NewMetadata(in *metav1alpha1.ObjectMetadata, id string, createdAt int64) *metav1alpha1.ObjectMetadata {
	return &metav1alpha1.ObjectMetadata{
		Id: id, Labels: copyMap(in.GetLabels()), Annotations: copyMap(in.GetAnnotations()),
		Generation: 1, CreatedAt: createdAt,
	}
}

// CheckNewMetadata refuses metadata a client may not set on create.
func CheckNewMetadata(md *metav1alpha1.ObjectMetadata) error {
	if md.GetId() != "" {
		return runtimeerr.Invalidf("metadata.id must be empty: ids are minted by the runtime")
	}
	return nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
