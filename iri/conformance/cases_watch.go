package conformance

import (
	"context"
	"time"
)

// watchStream pumps a watch into a channel so that reads can time out.
type watchStream[T object] struct {
	c       *C
	ch      chan watchEvent[T]
	err     chan error
	lastSeq uint64
	sel     map[string]string
}

func startWatch[T object](ctx context.Context, c *C, api *kindAPI[T], sel map[string]string, initial bool) *watchStream[T] {
	recv, err := api.watch(ctx, c, sel, initial)
	if isUnimplemented(err) {
		c.Skipf("not supported: Watch answered Unimplemented (%v)", err)
	}
	if err != nil {
		c.Fatalf("starting a watch: %v", err)
	}
	w := &watchStream[T]{c: c, ch: make(chan watchEvent[T], 1024), err: make(chan error, 1), sel: sel}
	go func() {
		for {
			ev, err := recv()
			if err != nil {
				w.err <- err
				return
			}
			select {
			case w.ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return w
}

// next returns the next event and checks what every event must satisfy.
func (w *watchStream[T]) next(ctx context.Context, waiting string) watchEvent[T] {
	c := w.c
	select {
	case ev := <-w.ch:
		if ev.seq <= w.lastSeq {
			c.Errorf("watch sequence %d after %d; it must increase strictly", ev.seq, w.lastSeq)
		}
		w.lastSeq = ev.seq
		var zero T
		switch {
		case ev.typ == watchBookmark && ev.obj != zero:
			c.Errorf("BOOKMARK carries an object")
		case ev.typ != watchBookmark && ev.obj == zero:
			c.Errorf("%s event without an object", ev.typ)
		case ev.typ != watchBookmark && !hasLabels(ev.obj.GetMetadata().GetLabels(), w.sel):
			c.Errorf("%s event for %s, which does not match the watch's label selector", ev.typ, ev.obj.GetMetadata().GetId())
		case ev.typ < watchAdded || ev.typ > watchBookmark:
			c.Errorf("watch event of unknown type %d", ev.typ)
		}
		return ev
	case err := <-w.err:
		if isUnimplemented(err) {
			c.Skipf("not supported: Watch answered Unimplemented (%v)", err)
		}
		c.Fatalf("watch ended while waiting for %s: %v", waiting, err)
	case <-time.After(c.env.cfg.WaitTimeout):
		c.Fatalf("timed out after %s waiting for %s", c.env.cfg.WaitTimeout, waiting)
	case <-ctx.Done():
		c.Fatalf("case timed out waiting for %s", waiting)
	}
	panic("unreachable")
}

// await skips events until one of typ about id satisfies cond (nil: any).
func (w *watchStream[T]) await(ctx context.Context, typ watchType, id string, cond func(T) bool) T {
	what := typ.String() + " of " + id
	for {
		ev := w.next(ctx, what)
		if ev.typ == typ && ev.obj.GetMetadata().GetId() == id && (cond == nil || cond(ev.obj)) {
			return ev.obj
		}
	}
}

func caseWatch[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sel := c.Labels()
	a := mustCreate(ctx, c, api, sel).GetMetadata().GetId()

	// Initial list: ADDED for what exists, then one BOOKMARK.
	w := startWatch(ctx, c, api, sel, true)
	added := map[string]bool{}
	for {
		ev := w.next(ctx, "the initial list and its BOOKMARK")
		if ev.typ == watchBookmark {
			break
		}
		if ev.typ != watchAdded {
			c.Errorf("%s event before the BOOKMARK; the initial list is all ADDED", ev.typ)
			continue
		}
		added[ev.obj.GetMetadata().GetId()] = true
	}
	if !added[a] || len(added) != 1 {
		c.Errorf("initial list had %v, want exactly %s", added, a)
	}

	// Live changes of a new object: ADDED, MODIFIED, DELETED.
	b := mustCreate(ctx, c, api, sel).GetMetadata().GetId()
	w.await(ctx, watchAdded, b, nil)
	if api.modify != nil {
		changed, err := api.modify(ctx, c, b)
		if err != nil {
			c.Fatalf("modifying %s: %v", b, err)
		}
		w.await(ctx, watchModified, b, changed)
	}
	if err := api.del(ctx, c, b); err != nil {
		c.Fatalf("deleting %s: %v", b, err)
	}
	w.await(ctx, watchDeleted, b, nil)

	// Without the initial list the BOOKMARK comes first.
	w2 := startWatch(ctx, c, api, sel, false)
	if ev := w2.next(ctx, "the BOOKMARK of a watch without initial list"); ev.typ != watchBookmark {
		c.Errorf("a watch without initial list started with %s, want BOOKMARK", ev.typ)
	}
}
