// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
)

// SpecChanged follows metadata.generation where the apiserver keeps it and compares specs where
// it does not (IronCore's apiserver: always 0).
func TestSpecChanged(t *testing.T) {
	machine := func(gen int64, volume string, state computev1alpha1.MachineState) *computev1alpha1.Machine {
		m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m", Generation: gen}}
		if volume != "" {
			m.Spec.Volumes = []computev1alpha1.Volume{{Name: "v", VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: volume}}}}
		}
		m.Status.State = state
		return m
	}
	deleting := machine(0, "", computev1alpha1.MachineStatePending)
	deleting.DeletionTimestamp = &metav1.Time{}
	for _, c := range []struct {
		what     string
		old, new *computev1alpha1.Machine
		want     bool
	}{
		{"generation bumped", machine(1, "", ""), machine(2, "a", ""), true},
		{"status only, generation kept", machine(2, "a", ""), machine(2, "a", computev1alpha1.MachineStateRunning), false},
		{"no generations, volume added", machine(0, "", ""), machine(0, "a", ""), true},
		{"no generations, status only", machine(0, "a", ""), machine(0, "a", computev1alpha1.MachineStateRunning), false},
		{"no generations, deletion started", machine(0, "", computev1alpha1.MachineStatePending), deleting, true},
	} {
		if got := SpecChanged().Update(event.UpdateEvent{ObjectOld: c.old, ObjectNew: c.new}); got != c.want {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
}

// FieldsChanged lets through what changes the fields a controller reads, and not a bind.
func TestFieldsChanged(t *testing.T) {
	machine := func(gen int64, volume, pool string) *computev1alpha1.Machine {
		m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m", Generation: gen}}
		if volume != "" {
			m.Spec.Volumes = []computev1alpha1.Volume{{Name: "v", VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: volume}}}}
		}
		if pool != "" {
			m.Spec.MachinePoolRef = &commonv1alpha1.LocalObjectReference{Name: pool}
		}
		return m
	}
	deleting := machine(2, "a", "")
	deleting.DeletionTimestamp = &metav1.Time{}
	volumes := FieldsChanged(func(m *computev1alpha1.Machine) any { return m.Spec.Volumes })
	for _, c := range []struct {
		what     string
		old, new client.Object
		want     bool
	}{
		{"bound to a pool", machine(1, "a", ""), machine(2, "a", "p"), false},
		{"volume changed", machine(1, "a", ""), machine(2, "b", ""), true},
		{"volume added, no generations", machine(0, "", ""), machine(0, "a", ""), true},
		{"deletion started", machine(1, "a", ""), deleting, true},
		{"another type", &computev1alpha1.MachinePool{}, &computev1alpha1.MachinePool{}, true},
	} {
		if got := volumes.Update(event.UpdateEvent{ObjectOld: c.old, ObjectNew: c.new}); got != c.want {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
	if !volumes.Create(event.CreateEvent{Object: machine(1, "", "")}) || !volumes.Delete(event.DeleteEvent{Object: machine(1, "", "")}) {
		t.Error("creates and deletes must pass")
	}
}
