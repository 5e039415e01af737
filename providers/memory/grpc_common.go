package memory

import (
	"context"

	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/iri/watchhub"
)

// serveWatch runs one watch stream: the initial list as ADDED, one
// BOOKMARK, then every change, until the client goes away or the store
// drops the watcher (ResourceExhausted). send converts to the kind's event.
func serveWatch[T Object](ctx context.Context, s *Store[T], f Filter, initial bool, send func(WatchEventType, T, uint64) error) error {
	w, objs, err := s.watch(f, initial)
	if err != nil {
		return runtimeerr.ToStatus(err)
	}
	return watchhub.Serve(ctx, w, objs, send)
}
