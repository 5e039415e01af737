package memory

import (
	"context"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// watchBookmark is the wire value of BOOKMARK in every kind's
// WatchEventType; ADDED, MODIFIED and DELETED share their values with
// WatchAdded, WatchModified and WatchDeleted (guarded by a test).
const watchBookmark WatchEventType = 4

// serveWatch runs one watch stream: the initial list as ADDED, one
// BOOKMARK, then every change, until the client goes away or the store
// drops the watcher (ResourceExhausted). send converts to the kind's event.
func serveWatch[T Object](ctx context.Context, s *Store[T], f Filter, initial bool, send func(WatchEventType, T, uint64) error) error {
	w, objs, err := s.watch(f, initial)
	if err != nil {
		return runtimeerr.ToStatus(err)
	}
	defer w.Stop()
	var seq uint64
	var zero T
	for _, o := range objs {
		seq++
		if err := send(WatchAdded, o, seq); err != nil {
			return err
		}
	}
	seq++
	if err := send(watchBookmark, zero, seq); err != nil {
		return err
	}
	for {
		ev, err := w.next(ctx)
		if err != nil {
			return runtimeerr.ToStatus(err)
		}
		seq++
		if err := send(ev.Type, ev.Object, seq); err != nil {
			return err
		}
	}
}
