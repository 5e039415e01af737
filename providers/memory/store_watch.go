package memory

import (
	"context"
	"sync"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// WatchEventType says what happened to the object of a WatchEvent.
type WatchEventType int

const (
	WatchAdded WatchEventType = iota + 1
	WatchModified
	WatchDeleted
)

// WatchEvent is one change seen by a Watcher.
type WatchEvent[T Object] struct {
	Type   WatchEventType
	Object T
}

var (
	errSlowWatcher = runtimeerr.Errorf(runtimeerr.KindExhausted, "watcher fell too far behind and was dropped; watch again with send_initial_list")
	errClosed      = runtimeerr.Errorf(runtimeerr.KindUnavailable, "the runtime is shutting down")
)

// Watcher receives the changes of the objects matching its filter. It has a
// bounded queue: when a change does not fit, the store drops the watcher
// (Next returns runtimeerr.ErrExhausted) instead of waiting for it.
type Watcher[T Object] struct {
	store  *Store[T]
	filter Filter
	ch     chan WatchEvent[T]

	once    sync.Once
	dropped chan struct{}
	err     error
}

// watch registers a watcher and, if initial, returns the shared snapshots
// of the matching objects as of the same instant: no change falls between
// the list and the watch.
func (s *Store[T]) watch(f Filter, initial bool) (*Watcher[T], []T, error) {
	if f.ID != "" {
		if err := checkID("filter.id", f.ID); err != nil {
			return nil, nil, err
		}
	}
	w := &Watcher[T]{store: s, filter: f, ch: make(chan WatchEvent[T], s.watchBuf), dropped: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, errClosed
	}
	var objs []T
	if initial {
		for _, e := range s.order {
			if f.matches(e.obj.GetMetadata()) {
				objs = append(objs, e.obj)
			}
		}
	}
	s.watchers[w] = struct{}{}
	return w, objs, nil
}

// Watch starts a watch; with initial it also returns copies of the objects
// that match now. Call Stop when done.
func (s *Store[T]) Watch(f Filter, initial bool) (*Watcher[T], []T, error) {
	w, objs, err := s.watch(f, initial)
	for i, o := range objs {
		objs[i] = clone(o)
	}
	return w, objs, err
}

// publishLocked hands a change to every matching watcher without blocking.
func (s *Store[T]) publishLocked(typ WatchEventType, obj T) {
	if len(s.watchers) == 0 {
		return
	}
	md := obj.GetMetadata()
	for w := range s.watchers {
		if !w.filter.matches(md) {
			continue
		}
		select {
		case w.ch <- WatchEvent[T]{Type: typ, Object: obj}:
		default:
			s.dropLocked(w, errSlowWatcher)
		}
	}
}

func (s *Store[T]) dropLocked(w *Watcher[T], err error) {
	delete(s.watchers, w)
	w.once.Do(func() {
		w.err = err
		close(w.dropped)
	})
}

// next returns the next change with the shared snapshot.
func (w *Watcher[T]) next(ctx context.Context) (WatchEvent[T], error) {
	select {
	case <-w.dropped:
		return WatchEvent[T]{}, w.err
	default:
	}
	select {
	case ev := <-w.ch:
		return ev, nil
	case <-w.dropped:
		return WatchEvent[T]{}, w.err
	case <-ctx.Done():
		return WatchEvent[T]{}, ctx.Err()
	}
}

// Next waits for the next change and returns it with a copy of the object.
// After the watcher was dropped it returns an error matching runtimeerr.ErrExhausted.
func (w *Watcher[T]) Next(ctx context.Context) (WatchEvent[T], error) {
	ev, err := w.next(ctx)
	if err == nil {
		ev.Object = clone(ev.Object)
	}
	return ev, err
}

// Stop ends the watch; Next then returns an error.
func (w *Watcher[T]) Stop() {
	w.store.mu.Lock()
	defer w.store.mu.Unlock()
	w.store.dropLocked(w, runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "watch stopped"))
}
