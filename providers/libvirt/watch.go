package libvirt

import (
	"context"

	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// watchBuffer is how many changes a watcher may lag behind before it is dropped.
const watchBuffer = 1024

type watchEvent struct {
	typ machinev1alpha1.WatchEventType
	obj *machinev1alpha1.Machine // shared immutable snapshot
}

type watcher struct {
	id      string
	sel     map[string]string
	ch      chan watchEvent
	dropped chan struct{}
	err     error
}

var errSlowWatcher = runtimeerr.Errorf(runtimeerr.KindExhausted, "watcher fell too far behind and was dropped; watch again with send_initial_list")

// publishLocked hands a change to every matching watcher without blocking; p.mu is held.
func (p *Provider) publishLocked(typ machinev1alpha1.WatchEventType, obj *machinev1alpha1.Machine) {
	for w := range p.watchers {
		if !matches(obj.GetMetadata(), w.id, w.sel) {
			continue
		}
		select {
		case w.ch <- watchEvent{typ: typ, obj: obj}:
		default:
			p.dropLocked(w, errSlowWatcher)
		}
	}
}

func (p *Provider) dropLocked(w *watcher, err error) {
	if _, ok := p.watchers[w]; !ok {
		return
	}
	delete(p.watchers, w)
	w.err = err
	close(w.dropped)
}

// Watch streams the initial list (if initial), one BOOKMARK, then every change of the machines matching
// id and sel, until ctx ends or the watcher is dropped. send gets shared snapshots: it must not mutate.
func (p *Provider) Watch(ctx context.Context, id string, sel map[string]string, initial bool, send func(machinev1alpha1.WatchEventType, *machinev1alpha1.Machine) error) error {
	w := &watcher{id: id, sel: sel, ch: make(chan watchEvent, watchBuffer), dropped: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return runtimeerr.Errorf(runtimeerr.KindUnavailable, "the provider is shutting down")
	}
	var objs []*machinev1alpha1.Machine
	if initial {
		for _, r := range p.sortedLocked() {
			if matches(r.obj.GetMetadata(), id, sel) {
				objs = append(objs, r.obj)
			}
		}
	}
	p.watchers[w] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.dropLocked(w, nil)
		p.mu.Unlock()
	}()
	for _, o := range objs {
		if err := send(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED, o); err != nil {
			return err
		}
	}
	if err := send(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_BOOKMARK, nil); err != nil {
		return err
	}
	for {
		select {
		case ev := <-w.ch:
			if err := send(ev.typ, ev.obj); err != nil {
				return err
			}
		case <-w.dropped:
			if w.err == nil {
				return runtimeerr.Errorf(runtimeerr.KindUnavailable, "the provider is shutting down")
			}
			return w.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func clone(m *machinev1alpha1.Machine) *machinev1alpha1.Machine {
	return proto.Clone(m).(*machinev1alpha1.Machine)
}
