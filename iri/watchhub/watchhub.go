// Package watchhub fans a runtime's changes out to its IRI watch streams. Each watcher has a
// bounded queue; one that falls behind is dropped (its stream ends ResourceExhausted, and the
// client watches again with the initial list) instead of being waited for, so a stalled client
// never holds up the runtime. Every provider serves its Watch RPCs through it.
package watchhub

import (
	"context"
	"sync"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// Type says what happened to a watched object; the values are those of every IRI kind's
// WatchEventType (ADDED 1, MODIFIED 2, DELETED 3, BOOKMARK 4).
type Type int32

const (
	Added    Type = 1
	Modified Type = 2
	Deleted  Type = 3
	Bookmark Type = 4
)

// Event is one change a watcher sees.
type Event[T any] struct {
	Type   Type
	Object T
}

var (
	// ErrSlow ends the stream of a watcher whose queue was full.
	ErrSlow = runtimeerr.Errorf(runtimeerr.KindExhausted, "watcher fell too far behind and was dropped; watch again with send_initial_list")
	// ErrClosed ends every stream when the runtime shuts down.
	ErrClosed  = runtimeerr.Errorf(runtimeerr.KindUnavailable, "the runtime is shutting down")
	errStopped = runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "watch stopped")
)

// Hub holds the watchers of one kind of object.
type Hub[T any] struct {
	buf      int
	mu       sync.Mutex
	watchers map[*Watcher[T]]struct{}
	closed   bool
}

// New returns a hub whose watchers may lag buf changes behind (default 4096 when buf <= 0).
func New[T any](buf int) *Hub[T] {
	if buf <= 0 {
		buf = 4096
	}
	return &Hub[T]{buf: buf, watchers: map[*Watcher[T]]struct{}{}}
}

// Add registers a watcher of the objects match accepts. A runtime calls it under the lock it
// publishes under, right after listing the initial objects, so no change falls between the two.
func (h *Hub[T]) Add(match func(T) bool) (*Watcher[T], error) {
	w := &Watcher[T]{hub: h, match: match, ch: make(chan Event[T], h.buf), dropped: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	h.watchers[w] = struct{}{}
	return w, nil
}

// Publish hands a change to every matching watcher without blocking; a watcher whose queue is
// full is dropped with ErrSlow. Objects are shared: nobody may mutate them afterwards.
func (h *Hub[T]) Publish(typ Type, obj T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		if !w.match(obj) {
			continue
		}
		select {
		case w.ch <- Event[T]{Type: typ, Object: obj}:
		default:
			h.dropLocked(w, ErrSlow)
		}
	}
}

// Len is the number of watchers.
func (h *Hub[T]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers)
}

// Close ends every watcher with ErrClosed; later Adds fail with it.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for w := range h.watchers {
		h.dropLocked(w, ErrClosed)
	}
}

func (h *Hub[T]) dropLocked(w *Watcher[T], err error) {
	delete(h.watchers, w)
	w.once.Do(func() {
		w.err = err
		close(w.dropped)
	})
}

// Watcher receives the changes of the objects its match accepts.
type Watcher[T any] struct {
	hub     *Hub[T]
	match   func(T) bool
	ch      chan Event[T]
	once    sync.Once
	dropped chan struct{}
	err     error
}

// Next waits for the next change. Once the watcher is dropped it returns why (ErrSlow,
// ErrClosed), and ctx's error when ctx ends first.
func (w *Watcher[T]) Next(ctx context.Context) (Event[T], error) {
	select {
	case <-w.dropped:
		return Event[T]{}, w.err
	default:
	}
	select {
	case ev := <-w.ch:
		return ev, nil
	case <-w.dropped:
		return Event[T]{}, w.err
	case <-ctx.Done():
		return Event[T]{}, ctx.Err()
	}
}

// Stop ends the watch; Next then fails.
func (w *Watcher[T]) Stop() {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	w.hub.dropLocked(w, errStopped)
}

// Serve runs one watch stream over w, which it stops at the end: the initial objects as Added,
// one Bookmark, then every change until ctx ends or the watcher is dropped. send converts to the
// kind's event message; sequence numbers start at 1. Errors are gRPC statuses.
func Serve[T any](ctx context.Context, w *Watcher[T], initial []T, send func(typ Type, obj T, seq uint64) error) error {
	defer w.Stop()
	var seq uint64
	var zero T
	for _, o := range initial {
		seq++
		if err := send(Added, o, seq); err != nil {
			return err
		}
	}
	seq++
	if err := send(Bookmark, zero, seq); err != nil {
		return err
	}
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			return runtimeerr.ToStatus(err)
		}
		seq++
		if err := send(ev.Type, ev.Object, seq); err != nil {
			return err
		}
	}
}
