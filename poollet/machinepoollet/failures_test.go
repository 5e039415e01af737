// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/test/poollettest"
)

func prerequisites(m *computev1alpha1.Machine) (computev1alpha1.MachineCondition, bool) {
	for _, c := range m.Status.Conditions {
		if string(c.Type) == machinepoollet.ConditionPrerequisitesMet {
			return c, true
		}
	}
	return computev1alpha1.MachineCondition{}, false
}

func waitPrerequisites(t *testing.T, e *poollettest.Env, name string, status corev1.ConditionStatus, reason string, msgParts ...string) {
	t.Helper()
	poollettest.Eventually(t, wait, "prerequisites "+reason, func() error {
		c, ok := prerequisites(getMachine(t, e, name))
		if !ok || c.Status != status || c.Reason != reason {
			return fmt.Errorf("condition %+v", c)
		}
		for _, p := range msgParts {
			if !strings.Contains(c.Message, p) {
				return fmt.Errorf("message %q lacks %q", c.Message, p)
			}
		}
		return nil
	})
}

func TestMachineWaitsForPrerequisites(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, false, nil)
	ctx := t.Context()
	m := newMachine("vm")
	m.Spec.IgnitionRef = &commonv1alpha1.SecretKeySelector{Name: "ign"}
	m.Spec.Volumes = []computev1alpha1.Volume{{Name: "root", VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "root-vol"}}}}
	if err := e.Client.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionFalse, machinepoollet.ReasonWaitingForIgnition, "ignition Secret ign", "volume root-vol does not exist")
	if n := len(iriMachines(t, e, string(getMachine(t, e, "vm").UID))); n != 0 {
		t.Fatalf("created %d IRI machines before prerequisites were met", n)
	}

	// A Secret without the referenced key: booting without ignition is not an option.
	ign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ign"}, Data: map[string][]byte{"ignition.json": []byte("{}")}}
	if err := e.Client.Create(ctx, ign); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionFalse, machinepoollet.ReasonWaitingForIgnition,
		fmt.Sprintf("ignition Secret ign has no key %q (keys: ignition.json)", computev1alpha1.DefaultIgnitionKey))
	ign.Data = map[string][]byte{computev1alpha1.DefaultIgnitionKey: []byte("{}")}
	if err := e.Client.Update(ctx, ign); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionFalse, machinepoollet.ReasonWaitingForVolumes, "volume root-vol does not exist")

	// Claimed by another machine (the controller-manager's claim, made by hand here): exclusive.
	other := commonv1alpha1.LocalUIDReference{Name: "other", UID: "0000-other"}
	v := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "root-vol"}, Spec: storagev1alpha1.VolumeSpec{ClaimRef: &other}}
	if err := e.Client.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionFalse, machinepoollet.ReasonWaitingForVolumes, "volume root-vol is claimed by Machine other")
	mine := commonv1alpha1.LocalUIDReferenceTo(getMachine(t, e, "vm"))
	origV := v.DeepCopy()
	v.Spec.ClaimRef = &mine
	if err := e.Client.Patch(ctx, v, client.MergeFrom(origV)); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionFalse, machinepoollet.ReasonWaitingForVolumes, "volume root-vol is not Available")
	orig := v.DeepCopy()
	v.Status.State = storagev1alpha1.VolumeStateAvailable
	v.Status.Access = &storagev1alpha1.VolumeAccess{Driver: "memory", Handle: "root"}
	if err := e.Client.Status().Patch(ctx, v, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionTrue, "PrerequisitesMet")
	got := waitState(t, e, "vm", computev1alpha1.MachineStateRunning)
	iri := iriMachines(t, e, string(got.UID))
	if len(iri) != 1 || string(iri[0].GetSpec().GetIgnitionData()) != "{}" || len(iri[0].GetSpec().GetVolumes()) != 1 {
		t.Fatalf("IRI machines %v", iri)
	}
}

// A restarted poollet finds its IRI machines by UID label and creates nothing twice; an IRI
// event reaches the Machine as a Kubernetes Event.
func TestMachineRestartAndEvents(t *testing.T) {
	t.Parallel()
	e, stop := setup(t, false, nil)
	ctx := t.Context()
	if err := e.Client.Create(ctx, newMachine("vm")); err != nil {
		t.Fatal(err)
	}
	m := waitState(t, e, "vm", computev1alpha1.MachineStateRunning)
	poollettest.Eventually(t, wait, "Created event", func() error {
		list := &eventsv1.EventList{}
		if err := e.Client.List(ctx, list, client.InNamespace("default")); err != nil {
			return err
		}
		for _, ev := range list.Items {
			if ev.Regarding.Name == "vm" && ev.Reason == "Created" && ev.Regarding.UID == m.UID {
				return nil
			}
		}
		return fmt.Errorf("no Created event among %d", len(list.Items))
	})

	stop()
	startPoollet(t, e, nil)
	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) { m.Spec.Power = computev1alpha1.PowerOff })
	waitState(t, e, "vm", computev1alpha1.MachineStateShutdown)
	if n := len(iriMachines(t, e, string(m.UID))); n != 1 {
		t.Fatalf("%d IRI machines after restart, want 1", n)
	}
}

func TestRuntimeOutage(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, false, nil)
	ctx := t.Context()
	waitPoolReady(t, e, corev1.ConditionTrue, core.ReasonRuntimeReady)
	if err := e.Client.Create(ctx, newMachine("before")); err != nil {
		t.Fatal(err)
	}
	before := waitState(t, e, "before", computev1alpha1.MachineStateRunning)

	e.StopServer()
	p := waitPoolReady(t, e, corev1.ConditionUnknown, core.ReasonRuntimeUnreachable)
	if c, _ := readyCondition(p); c.Message == "" {
		t.Error("empty message")
	}
	if err := e.Client.Create(ctx, newMachine("during")); err != nil {
		t.Fatal(err)
	}
	patchMachine(t, e, "before", func(m *computev1alpha1.Machine) { m.Spec.Power = computev1alpha1.PowerOff })

	e.StartServer(t)
	waitPoolReady(t, e, corev1.ConditionTrue, core.ReasonRuntimeReady)
	during := waitState(t, e, "during", computev1alpha1.MachineStateRunning)
	waitState(t, e, "before", computev1alpha1.MachineStateShutdown)
	for _, m := range []*computev1alpha1.Machine{before, during} {
		if n := len(iriMachines(t, e, string(m.UID))); n != 1 {
			t.Errorf("%s: %d IRI machines, want 1", m.Name, n)
		}
	}
}

// An upstream provider without the watch extension still converges, by relisting.
func TestProviderWithoutWatch(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, true, nil)
	if err := e.Client.Create(t.Context(), newMachine("vm")); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, "vm", computev1alpha1.MachineStateRunning)
	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) { m.Spec.Power = computev1alpha1.PowerOff })
	waitState(t, e, "vm", computev1alpha1.MachineStateShutdown)
}

// An IRI machine whose Kubernetes Machine is gone is deleted.
func TestOrphanCollected(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, false, nil)
	srv := e.Provider.MachineServer()
	res, err := srv.CreateMachine(t.Context(), &machinev1alpha1.CreateMachineRequest{Machine: &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{
			labels.MachineUIDLabel: "0000-gone", labels.MachineNamespaceLabel: "default", labels.MachineNameLabel: "ghost"}},
		Spec: &machinev1alpha1.MachineSpec{Class: class},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.GetMachine().GetMetadata().GetId()
	poollettest.Eventually(t, wait, "orphan collected", func() error {
		l, err := srv.ListMachines(t.Context(), &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
		if err != nil {
			return err
		}
		if len(l.GetMachines()) != 0 {
			return fmt.Errorf("orphan %s still there", id)
		}
		return nil
	})
}
