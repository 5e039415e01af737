package memory

import (
	"context"

	"github.com/ironfed/ironfed/iri/watchhub"
)

// WatchEventType says what happened to the object of a WatchEvent (the IRI wire values).
type WatchEventType = watchhub.Type

const (
	WatchAdded    = watchhub.Added
	WatchModified = watchhub.Modified
	WatchDeleted  = watchhub.Deleted
)

// WatchEvent is one change seen by a Watcher.
type WatchEvent[T Object] = watchhub.Event[T]

// Watcher receives the changes of the objects matching its filter. It has a bounded queue: when
// a change does not fit, the store drops the watcher (Next returns runtimeerr.ErrExhausted)
// instead of waiting for it. Next hands out copies.
type Watcher[T Object] struct {
	*watchhub.Watcher[T]
}

// watch registers a watcher and, if initial, returns the shared snapshots of the matching
// objects as of the same instant: no change falls between the list and the watch.
func (s *Store[T]) watch(f Filter, initial bool) (*watchhub.Watcher[T], []T, error) {
	if f.ID != "" {
		if err := checkID("filter.id", f.ID); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var objs []T
	if initial {
		for _, e := range s.order {
			if f.matches(e.obj.GetMetadata()) {
				objs = append(objs, e.obj)
			}
		}
	}
	w, err := s.watchers.Add(func(o T) bool { return f.matches(o.GetMetadata()) })
	if err != nil {
		return nil, nil, err
	}
	return w, objs, nil
}

// Watch starts a watch; with initial it also returns copies of the objects
// that match now. Call Stop when done.
func (s *Store[T]) Watch(f Filter, initial bool) (*Watcher[T], []T, error) {
	w, objs, err := s.watch(f, initial)
	if err != nil {
		return nil, nil, err
	}
	for i, o := range objs {
		objs[i] = clone(o)
	}
	return &Watcher[T]{w}, objs, nil
}

// Next waits for the next change and returns it with a copy of the object.
// After the watcher was dropped it returns an error matching runtimeerr.ErrExhausted.
func (w *Watcher[T]) Next(ctx context.Context) (WatchEvent[T], error) {
	ev, err := w.Watcher.Next(ctx)
	if err == nil {
		ev.Object = clone(ev.Object)
	}
	return ev, err
}
