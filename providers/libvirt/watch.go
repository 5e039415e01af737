package libvirt

import (
	"context"

	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/iri/watchhub"
)

// watchBuffer is how many changes a watcher may lag behind before it is dropped.
const watchBuffer = 1024

// publishLocked hands a change to every matching watcher without blocking; p.mu is held, so a
// watch's initial list and its first change never overlap.
func (p *Provider) publishLocked(typ machinev1alpha1.WatchEventType, obj *machinev1alpha1.Machine) {
	p.watchers.Publish(watchhub.Type(typ), obj)
}

// Watch streams the initial list (if initial), one BOOKMARK, then every change of the machines matching
// id and sel, until ctx ends or the watcher is dropped. send gets shared snapshots: it must not mutate.
func (p *Provider) Watch(ctx context.Context, id string, sel map[string]string, initial bool, send func(machinev1alpha1.WatchEventType, *machinev1alpha1.Machine) error) error {
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
	w, err := p.watchers.Add(func(m *machinev1alpha1.Machine) bool { return matches(m.GetMetadata(), id, sel) })
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return watchhub.Serve(ctx, w, objs, func(t watchhub.Type, m *machinev1alpha1.Machine, _ uint64) error {
		return send(machinev1alpha1.WatchEventType(t), m)
	})
}

func clone(m *machinev1alpha1.Machine) *machinev1alpha1.Machine {
	return proto.Clone(m).(*machinev1alpha1.Machine)
}
