// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

type recordedEvent struct{ name, reason string }

type fakeRecorder struct{ got []recordedEvent }

func (r *fakeRecorder) Eventf(obj runtime.Object, _ runtime.Object, _, reason, _, _ string, _ ...interface{}) {
	r.got = append(r.got, recordedEvent{obj.(client.Object).GetName(), reason})
}

func runtimeEvent(name, reason string, at int64) *eventv1alpha1.Event {
	return &eventv1alpha1.Event{Spec: &eventv1alpha1.EventSpec{
		InvolvedObjectMeta: &metav1alpha1.ObjectMetadata{Id: "id-" + name, Labels: map[string]string{
			labels.MachineUIDLabel: "uid-" + name, labels.MachineNamespaceLabel: "default", labels.MachineNameLabel: name}},
		Reason: reason, EventTime: at,
	}}
}

// TestEventForwarderLosesNoLateEvent: an event stored with a time inside a window that has already
// been polled (a late writer) is still forwarded by the next poll, and no event is forwarded twice
// although consecutive windows overlap.
func TestEventForwarderLosesNoLateEvent(t *testing.T) {
	var now int64 = 1000 // a clock in seconds, as IronCore's runtimes use
	var stored []*eventv1alpha1.Event
	rec := &fakeRecorder{}
	f := &eventForwarder{
		kind: labels.Machine, recorder: rec, period: time.Second, overlap: 5 * time.Second,
		newObj: func() client.Object { return &computev1alpha1.Machine{} },
		now:    func() int64 { return now },
		list: func(_ context.Context, from, to int64) ([]*eventv1alpha1.Event, error) {
			var out []*eventv1alpha1.Event
			for _, ev := range stored {
				if at := ev.GetSpec().GetEventTime(); at >= from && at <= to {
					out = append(out, ev)
				}
			}
			return out, nil
		},
	}
	from := now
	poll := func() {
		t.Helper()
		next, err := f.poll(t.Context(), from)
		if err != nil {
			t.Fatal(err)
		}
		from = next
	}
	stored = append(stored, runtimeEvent("a", "Created", 1000))
	now = 1001
	poll()
	now = 1002
	poll()
	// Written at 1003 with the time 1001: that window was already polled.
	stored = append(stored, runtimeEvent("b", "Started", 1001))
	now = 1003
	poll()
	now = 1010
	poll()
	want := []recordedEvent{{"a", "Created"}, {"b", "Started"}}
	if fmt.Sprint(rec.got) != fmt.Sprint(want) {
		t.Fatalf("forwarded %v, want %v (late events kept, none twice)", rec.got, want)
	}
	if len(f.seen) != 0 {
		t.Errorf("%d dedupe entries kept after every window moved past them", len(f.seen))
	}
}
