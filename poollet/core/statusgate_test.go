// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// gateState reads the gate's counters under its lock.
func gateState(g *statusGate) (inFlight, waiting int, done, passed int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight, g.waiting, g.done, g.passed
}

// waitGate polls until cond holds on the gate (no timing is asserted: the bound only ends a hung test).
func waitGate(t *testing.T, g *statusGate, what string, cond func(inFlight, waiting int, done, passed int64) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 5*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return cond(gateState(g)), nil
	})
	if err != nil {
		inFlight, waiting, done, passed := gateState(g)
		t.Fatalf("%s: in flight %d, waiting %d, done %d, passed %d", what, inFlight, waiting, done, passed)
	}
}

// Forwarded Events yield to status writes against a real apiserver: while a write is in flight
// they wait (one passes per statusEventShare completed writes), and once none is every one of them
// is written; the status writes themselves go through the gate and the last one is what the
// apiserver holds.
func TestEventsYieldToStatusWrites(t *testing.T) {
	cl := testClient(t, "statusgate")
	ctx := t.Context()
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-0"},
		Spec: computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"}}}
	if err := cl.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	gate := newStatusGate()
	w := newEventWriter(cl, scheme, "machinepoollet")
	w.gate = gate

	// A status write in flight (held by the test): the Events wait before they are sent.
	gate.begin()
	const events = 5
	var notes []string
	for i := range events {
		notes = append(notes, fmt.Sprintf("event %d", i))
		w.Eventf(m, nil, corev1.EventTypeNormal, "Created", "Create", "%s", notes[i])
	}
	waitGate(t, gate, "all Events waiting", func(_, waiting int, _, _ int64) bool { return waiting == events })
	if n := countEvents(t, cl, m); n != 0 {
		t.Fatalf("%d Events written while a status write was in flight and none had completed", n)
	}

	// statusEventShare more writes complete while the held one is still in flight: one Event goes.
	for range statusEventShare {
		gate.begin()
		gate.end()
	}
	waitGate(t, gate, "one Event let through", func(_, waiting int, _, passed int64) bool { return passed == 1 && waiting == events-1 })

	// Real status writes go through the gate too; the latest status wins.
	rec := &Reconciler[*computev1alpha1.Machine, *machinev1alpha1.Machine]{Adapter: &fakeAdapter{t: t}, Client: cl, gate: gate}
	for _, state := range []computev1alpha1.MachineState{computev1alpha1.MachineStateRunning, computev1alpha1.MachineStateTerminated} {
		orig := m.DeepCopy()
		m.Status.State = state
		if err := rec.patchStatus(ctx, orig, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, done, _ := gateState(gate); done != statusEventShare+2 {
		t.Errorf("gate counted %d completed status writes, want %d", done, statusEventShare+2)
	}
	var live computev1alpha1.Machine
	if err := cl.Get(ctx, client.ObjectKeyFromObject(m), &live); err != nil {
		t.Fatal(err)
	}
	if live.Status.State != computev1alpha1.MachineStateTerminated {
		t.Errorf("status state %q, want the last written, Terminated", live.Status.State)
	}

	// The held write ends: nothing is in flight, every Event is written, none lost or doubled.
	gate.end()
	var got []string
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got = eventNotes(t, cl, m)
		return len(got) >= events, nil
	})
	if err != nil {
		t.Fatalf("Events %q: %v", got, err)
	}
	slices.Sort(got)
	if !slices.Equal(got, notes) {
		t.Errorf("Events %q, want each of %q once", got, notes)
	}
}

func eventNotes(t *testing.T, cl client.Client, m *computev1alpha1.Machine) []string {
	t.Helper()
	var l eventsv1.EventList
	if err := cl.List(t.Context(), &l, client.InNamespace(m.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range l.Items {
		if e.Regarding.UID == m.UID {
			out = append(out, e.Note)
		}
	}
	return out
}

func countEvents(t *testing.T, cl client.Client, m *computev1alpha1.Machine) int {
	t.Helper()
	return len(eventNotes(t, cl, m))
}
