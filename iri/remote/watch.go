package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Watcher keeps an up-to-date view of a runtime's objects and reports every
// change to a handler: through the watch extension when the runtime has it,
// otherwise by diffing periodic Lists. After a broken connection it re-lists
// and reports what changed meanwhile, including deletions.
type Watcher[T Object] struct {
	src     Source[T]
	opts    WatcherOptions
	running atomic.Bool

	mu sync.RWMutex
	// cache holds each object marshalled (deterministically, so equal objects are equal bytes):
	// a decoded message with its maps and strings takes about three times its wire size, and a
	// poollet keeps one per object of its pool (18 of 44 MB live at 10k machines).
	cache  map[string][]byte
	status WatcherStatus
}

var marshalCached = proto.MarshalOptions{Deterministic: true}

// NewWatcher returns a Watcher over src; see NewMachineWatcher and friends
// for the usual sources.
func NewWatcher[T Object](src Source[T], opts WatcherOptions) (*Watcher[T], error) {
	if src == nil {
		return nil, errors.New("watcher: source is nil")
	}
	defaults := []struct {
		v   *time.Duration
		def time.Duration
		opt string
	}{
		{&opts.RelistPeriod, 5 * time.Second, "RelistPeriod"},
		{&opts.BackoffInitial, 500 * time.Millisecond, "BackoffInitial"},
		{&opts.BackoffMax, 30 * time.Second, "BackoffMax"},
		{&opts.SyncTimeout, 2 * time.Minute, "SyncTimeout"},
	}
	for _, d := range defaults {
		if *d.v < 0 {
			return nil, fmt.Errorf("watcher: %s must not be negative, got %s", d.opt, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if opts.BackoffMax < opts.BackoffInitial {
		return nil, fmt.Errorf("watcher: BackoffMax (%s) is below BackoffInitial (%s)", opts.BackoffMax, opts.BackoffInitial)
	}
	if opts.WatchProbePeriod == 0 {
		opts.WatchProbePeriod = 5 * time.Minute
	}
	return &Watcher[T]{src: src, opts: opts, cache: map[string][]byte{}}, nil
}

// Status returns the current status.
func (w *Watcher[T]) Status() WatcherStatus {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.status
}

// Get returns the cached object with this id, a copy of its own.
func (w *Watcher[T]) Get(id string) (T, bool) {
	w.mu.RLock()
	data, ok := w.cache[id]
	w.mu.RUnlock()
	if !ok {
		var zero T
		return zero, false
	}
	return w.decode(id, data)
}

// List returns the cached objects, sorted by id, each a copy of its own.
func (w *Watcher[T]) List() []T {
	w.mu.RLock()
	ids := make([]string, 0, len(w.cache))
	for id := range w.cache {
		ids = append(ids, id)
	}
	data := make(map[string][]byte, len(ids))
	for _, id := range ids {
		data[id] = w.cache[id]
	}
	w.mu.RUnlock()
	sort.Strings(ids)
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		if obj, ok := w.decode(id, data[id]); ok {
			out = append(out, obj)
		}
	}
	return out
}

// decode unmarshals a cached object. The bytes are the Watcher's own marshalling, so it cannot
// fail short of a bug; it is logged and the object treated as absent if it does.
func (w *Watcher[T]) decode(id string, data []byte) (T, bool) {
	var zero T
	obj := zero.ProtoReflect().New().Interface().(T)
	if err := proto.Unmarshal(data, obj); err != nil {
		w.opts.Logger.Error(err, "Cannot decode cached object", "id", id)
		return zero, false
	}
	return obj, true
}

// Run delivers events to handle, one at a time from the calling goroutine,
// until ctx is done; then it returns nil. Only one Run may be active.
func (w *Watcher[T]) Run(ctx context.Context, handle func(Event[T])) error {
	if handle == nil {
		return errors.New("watcher: handler is nil")
	}
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("watcher: Run is already active")
	}
	defer w.running.Store(false)
	log := w.opts.Logger
	bo := backoff{initial: w.opts.BackoffInitial, max: w.opts.BackoffMax}
	tryWatch := true
	var nextProbe time.Time
	for ctx.Err() == nil {
		if tryWatch {
			start := time.Now()
			synced, err := w.watchOnce(ctx, handle)
			if ctx.Err() != nil {
				break
			}
			if status.Code(err) == codes.Unimplemented {
				if w.Status().Mode != ModePoll {
					log.Info("Runtime has no watch, polling List instead", "relistPeriod", w.opts.RelistPeriod)
				}
				tryWatch = false
				nextProbe = time.Now().Add(w.opts.WatchProbePeriod)
				continue
			}
			if synced && time.Since(start) >= w.opts.BackoffMax {
				bo.reset()
			}
			w.fail(fmt.Errorf("watch: %w", err))
			sleep(ctx, bo.next())
			continue
		}
		if err := w.pollOnce(ctx, handle); err != nil {
			if ctx.Err() != nil {
				break
			}
			w.fail(fmt.Errorf("list: %w", err))
			// The runtime may come back upgraded: ask for a watch first.
			tryWatch = true
			sleep(ctx, bo.next())
			continue
		}
		bo.reset()
		if w.opts.WatchProbePeriod > 0 && !time.Now().Before(nextProbe) {
			tryWatch = true
			continue
		}
		sleep(ctx, w.opts.RelistPeriod)
	}
	return nil
}

var errSyncTimeout = errors.New("sync timeout")

// watchOnce runs one watch stream until it fails. synced reports whether
// it got as far as the BOOKMARK.
func (w *Watcher[T]) watchOnce(ctx context.Context, handle func(Event[T])) (synced bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stream, err := w.src.Watch(ctx)
	if err != nil {
		return false, err
	}
	timer := time.AfterFunc(w.opts.SyncTimeout, func() { cancel(errSyncTimeout) })
	defer timer.Stop()
	seen := map[string]struct{}{}
	for {
		typ, obj, err := stream.Recv()
		switch {
		case errors.Is(context.Cause(ctx), errSyncTimeout):
			return false, status.Errorf(codes.DeadlineExceeded, "no BOOKMARK within %s of starting the watch", w.opts.SyncTimeout)
		case err == io.EOF:
			return synced, status.Error(codes.Unavailable, "runtime ended the watch stream")
		case err != nil:
			return synced, err
		case typ == Bookmark:
			if synced {
				continue
			}
			timer.Stop()
			synced = true
			w.finishRelist(seen, handle)
			seen = nil
			w.succeed(ModeWatch, handle)
			continue
		}
		id := obj.GetMetadata().GetId()
		if id == "" {
			w.opts.Logger.Error(nil, "Ignoring watch event without an object id", "type", typ)
			continue
		}
		switch typ {
		case Added, Modified:
			if seen != nil {
				seen[id] = struct{}{}
			}
			w.upsert(id, obj, handle)
		case Deleted:
			delete(seen, id)
			w.strip(obj)
			w.remove(id, obj, handle)
		default:
			w.opts.Logger.Error(nil, "Ignoring watch event of unknown type", "type", typ, "id", id)
		}
	}
}

// pollOnce lists everything and reports the difference to the cache.
func (w *Watcher[T]) pollOnce(ctx context.Context, handle func(Event[T])) error {
	objs, err := w.src.List(ctx)
	if err != nil {
		return err
	}
	seen := make(map[string]struct{}, len(objs))
	for _, obj := range objs {
		id := obj.GetMetadata().GetId()
		if id == "" {
			continue
		}
		seen[id] = struct{}{}
		w.upsert(id, obj, handle)
	}
	w.finishRelist(seen, handle)
	w.succeed(ModePoll, handle)
	return nil
}

func (w *Watcher[T]) upsert(id string, obj T, handle func(Event[T])) {
	w.strip(obj)
	data, err := marshalCached.Marshal(obj)
	if err != nil {
		// Only an object built in this process can get here (invalid UTF-8 in a string, say):
		// one received over gRPC was marshalled by the runtime already.
		w.opts.Logger.Error(err, "Ignoring an object that cannot be marshalled", "id", id)
		return
	}
	w.mu.Lock()
	old, ok := w.cache[id]
	if ok && bytes.Equal(old, data) {
		w.mu.Unlock()
		return
	}
	w.cache[id] = data
	w.mu.Unlock()
	typ := Added
	if ok {
		typ = Modified
	}
	handle(Event[T]{Type: typ, Object: obj})
}

func (w *Watcher[T]) strip(obj T) {
	if w.opts.Strip != nil {
		w.opts.Strip(obj)
	}
}

func (w *Watcher[T]) remove(id string, last T, handle func(Event[T])) {
	w.mu.Lock()
	_, ok := w.cache[id]
	delete(w.cache, id)
	w.mu.Unlock()
	if ok {
		handle(Event[T]{Type: Deleted, Object: last})
	}
}

// finishRelist deletes what a complete list did not contain: the list is
// the whole truth, so those objects vanished while we were not looking.
func (w *Watcher[T]) finishRelist(seen map[string]struct{}, handle func(Event[T])) {
	w.mu.Lock()
	gone := map[string][]byte{}
	for id, data := range w.cache {
		if _, ok := seen[id]; !ok {
			gone[id] = data
			delete(w.cache, id)
		}
	}
	w.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(gone)) {
		if obj, ok := w.decode(id, gone[id]); ok {
			handle(Event[T]{Type: Deleted, Object: obj})
		}
	}
}

// succeed records a complete list and sends Synced the first time.
func (w *Watcher[T]) succeed(mode Mode, handle func(Event[T])) {
	w.mu.Lock()
	prev := w.status
	w.status = WatcherStatus{Mode: mode, Synced: true}
	next := w.status
	w.mu.Unlock()
	changed := prev.Err != nil || prev.Mode != mode || !prev.Synced
	if changed {
		w.opts.Logger.Info("Runtime connection healthy", "mode", mode)
	}
	if changed && w.opts.OnStatus != nil {
		w.opts.OnStatus(next)
	}
	if !prev.Synced {
		handle(Event[T]{Type: Synced})
	}
}

func (w *Watcher[T]) fail(err error) {
	w.mu.Lock()
	prev := w.status
	w.status.Err = err
	if w.status.FailingSince.IsZero() {
		w.status.FailingSince = time.Now()
	}
	next := w.status
	w.mu.Unlock()
	if prev.Err == nil {
		w.opts.Logger.Error(err, "Runtime unreachable, retrying", "mode", prev.Mode)
	} else {
		w.opts.Logger.V(1).Info("Runtime still unreachable", "err", err.Error(), "since", next.FailingSince)
	}
	if w.opts.OnStatus != nil && (prev.Err == nil || prev.Err.Error() != err.Error()) {
		w.opts.OnStatus(next)
	}
}

// backoff is exponential with "equal jitter": half the delay fixed, half
// random, so many watchers of one restarted runtime do not retry in step.
type backoff struct{ initial, max, cur time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.initial
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1)
}

func (b *backoff) reset() { b.cur = 0 }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
