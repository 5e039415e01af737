// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
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

// TestForwardedEventsStayApart: runtime events of different levels with the same reason on one
// object (a broker forwards the region's Scheduled and the leaf's) become separate Events with
// their own notes. client-go's broadcaster merged them into one series, losing the later notes.
func TestForwardedEventsStayApart(t *testing.T) {
	cl := testClient(t, "events")
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-0"},
		Spec: computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"}}}
	if err := cl.Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	w := newEventWriter(cl, scheme, "machinepoollet")
	notes := []string{"Bound to pool leaf", "Bound to pool leaf-memory", strings.Repeat("x", 2000)}
	for _, n := range notes {
		w.Eventf(m, nil, corev1.EventTypeNormal, "Scheduled", "Schedule", "%s", n)
	}
	var got []string
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var l eventsv1.EventList
		if err := cl.List(ctx, &l, client.InNamespace("default")); err != nil {
			return false, err
		}
		got = got[:0]
		for _, e := range l.Items {
			if e.ReportingController != "machinepoollet" {
				continue // the apiserver's own (e.g. its ClusterIP repair of Service kubernetes at start)
			}
			if e.Regarding.UID != m.UID || e.Regarding.Kind != "Machine" || e.Series != nil {
				return false, fmt.Errorf("unexpected Event %+v", e)
			}
			got = append(got, e.Note)
		}
		return len(got) == len(notes), nil
	})
	if err != nil {
		t.Fatalf("Events %q: %v", got, err)
	}
	slices.Sort(got)
	if got[0] != notes[0] || got[1] != notes[1] || len(got[2]) != maxEventNote || !strings.HasSuffix(got[2], "...") {
		t.Errorf("notes %q, want each of %q once (the long one cut to %d bytes)", got, notes[:2], maxEventNote)
	}
}
