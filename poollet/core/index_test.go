// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"fmt"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

func iriMachine(id, uid, name string, created int64) *machinev1alpha1.Machine {
	return &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{Id: id, CreatedAt: created, Labels: map[string]string{
		labels.MachineUIDLabel: uid, labels.MachineNamespaceLabel: "default", labels.MachineNameLabel: name}}}
}

// TestIndexHandleStopsWithContext: once nobody drains the event channel (the controller stopped),
// handle returns when its context ends instead of blocking the Watcher forever.
func TestIndexHandleStopsWithContext(t *testing.T) {
	idx := newIndex[*machinev1alpha1.Machine](labels.Machine, nil, func() client.Object { return &computev1alpha1.Machine{} })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range cap(idx.events) + 10 { // more than the channel holds
			idx.handle(ctx, remote.Event[*machinev1alpha1.Machine]{Type: remote.Added, Object: iriMachine(fmt.Sprint(i), fmt.Sprint("uid", i), "vm", 1)})
		}
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handle blocked after its context ended: the Watcher goroutine would leak")
	}
}

// TestIndexByUIDAndName: table of watcher events and what the index answers.
func TestIndexByUIDAndName(t *testing.T) {
	idx := newIndex[*machinev1alpha1.Machine](labels.Machine, nil, func() client.Object { return &computev1alpha1.Machine{} })
	go func() {
		for range idx.events {
		}
	}()
	ctx := t.Context()
	steps := []struct {
		ev      remote.EventType
		obj     *machinev1alpha1.Machine
		wantUID map[string]int
	}{
		{remote.Added, iriMachine("a", "u1", "vm1", 1), map[string]int{"u1": 1}},
		{remote.Added, iriMachine("b", "u1", "vm1", 2), map[string]int{"u1": 2}},
		{remote.Added, iriMachine("c", "u2", "vm2", 3), map[string]int{"u1": 2, "u2": 1}},
		{remote.Deleted, iriMachine("a", "u1", "vm1", 1), map[string]int{"u1": 1, "u2": 1}},
		{remote.Added, &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{Id: "foreign"}}, map[string]int{"u1": 1, "u2": 1}},
	}
	for i, s := range steps {
		idx.handle(ctx, remote.Event[*machinev1alpha1.Machine]{Type: s.ev, Object: s.obj})
		idx.mu.Lock()
		for uid, n := range s.wantUID {
			if got := len(idx.byUID[uid]); got != n {
				t.Errorf("step %d: %d ids for %s, want %d", i, got, uid, n)
			}
		}
		if len(idx.byUID) != len(s.wantUID) {
			t.Errorf("step %d: %d UIDs indexed, want %d", i, len(idx.byUID), len(s.wantUID))
		}
		idx.mu.Unlock()
	}
}
