// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// eventForwarder polls the runtime's ListEvents and records each event on the Kubernetes object
// named by its poollet labels. A runtime may store an event with a time a little in the past (it
// was recorded while a call was in flight), so every window reaches back by overlap, and events
// already forwarded are recognised and skipped: no event is lost to a window that had already
// moved on, and none is recorded twice.
type eventForwarder struct {
	kind   labels.Kind
	list   func(ctx context.Context, from, to int64) ([]*eventv1alpha1.Event, error)
	newObj func() client.Object
	// also are further kinds the runtime reports events about (a volume runtime's snapshots).
	also     []EventKind
	recorder events.EventRecorder
	period   time.Duration
	// overlap is how far each window reaches back before the previous one's end; default 3 periods.
	overlap time.Duration
	// now returns the current time in the unit of the runtime's event times (Unix seconds in the
	// IRI); nil means Unix nanoseconds.
	now func() int64

	// seen maps a forwarded event's key to its time, pruned once it is older than any window.
	seen map[string]int64
}

func (f *eventForwarder) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("events")
	t := time.NewTicker(f.period)
	defer t.Stop()
	from := f.clock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		next, err := f.poll(ctx, from)
		if err != nil {
			logger.V(1).Info("Listing runtime events failed; retrying next period", "error", err.Error())
			continue // keep from: the window grows until the runtime answers
		}
		from = next
	}
}

func (f *eventForwarder) clock() int64 {
	if f.now != nil {
		return f.now()
	}
	return time.Now().UnixNano()
}

// lookBack converts the overlap into the clock's unit, measured on the clock itself.
func (f *eventForwarder) lookBack() int64 {
	overlap := f.overlap
	if overlap <= 0 {
		overlap = 3 * f.period
	}
	if f.now == nil {
		return overlap.Nanoseconds()
	}
	return int64(overlap.Seconds()) + 1 // a clock in seconds
}

// poll forwards the events of [from-overlap, now] not forwarded before and returns the next from.
func (f *eventForwarder) poll(ctx context.Context, from int64) (int64, error) {
	to := f.clock()
	start := from - f.lookBack()
	evs, err := f.list(ctx, start, to)
	if err != nil {
		return from, err
	}
	if f.seen == nil {
		f.seen = map[string]int64{}
	}
	for i, ev := range evs {
		// Recording waits while eventWriteParallelism writes are in flight, so a poll that fell
		// behind holds thousands of events for long: let each go once it is recorded.
		evs[i] = nil
		key := eventKey(ev)
		if _, dup := f.seen[key]; dup {
			continue
		}
		f.seen[key] = ev.GetSpec().GetEventTime()
		f.record(ev)
	}
	// Forget what no later window can return again.
	for k, at := range f.seen {
		if at < to+1-f.lookBack() {
			delete(f.seen, k)
		}
	}
	return to + 1, nil
}

// eventKey identifies an event by everything it says (IRI events carry no id of their own).
func eventKey(ev *eventv1alpha1.Event) string {
	s := ev.GetSpec()
	return fmt.Sprintf("%s/%d/%s/%s/%s/%s", s.GetInvolvedObjectMeta().GetId(), s.GetEventTime(), s.GetType(), s.GetReason(), s.GetAction(), s.GetMessage())
}

// EventKind is a kind whose runtime events a poollet forwards: the IRI labels of kind name the
// Kubernetes object New returns.
type EventKind struct {
	Kind labels.Kind
	New  func() client.Object
}

func (f *eventForwarder) record(ev *eventv1alpha1.Event) {
	spec := ev.GetSpec()
	l := spec.GetInvolvedObjectMeta().GetLabels()
	var obj client.Object
	var uid, ns, name string
	for _, k := range append([]EventKind{{Kind: f.kind, New: f.newObj}}, f.also...) {
		uid, ns, name = l[labels.UIDLabel(k.Kind)], l[labels.NamespaceLabel(k.Kind)], l[labels.NameLabel(k.Kind)]
		if uid != "" && name != "" {
			obj = k.New()
			break
		}
	}
	if obj == nil {
		return
	}
	obj.SetNamespace(ns)
	obj.SetName(name)
	obj.SetUID(types.UID(uid))
	typ := spec.GetType()
	if typ != corev1.EventTypeWarning {
		typ = corev1.EventTypeNormal
	}
	action := spec.GetAction()
	if action == "" {
		action = spec.GetReason()
	}
	f.recorder.Eventf(obj, nil, typ, spec.GetReason(), action, "%s", spec.GetMessage())
}
