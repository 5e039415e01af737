// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"fmt"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/test/poollettest"
)

func TestMachineLifecycle(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, false, nil)
	ctx := t.Context()

	p := waitPoolReady(t, e, corev1.ConditionTrue, core.ReasonRuntimeReady)
	if p.Spec.ProviderID != "memory://"+pool {
		t.Errorf("providerID %q", p.Spec.ProviderID)
	}
	// m-large is offered by the provider but has no MachineClass: not announced.
	if len(p.Status.AvailableMachineClasses) != 1 || p.Status.AvailableMachineClasses[0].Name != class {
		t.Errorf("available classes %v", p.Status.AvailableMachineClasses)
	}
	count := commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, class)
	if q := p.Status.Capacity[count]; q.Value() != 1000 {
		t.Errorf("capacity %v", p.Status.Capacity)
	}

	// Heartbeat Lease exists and is renewed.
	leaseKey := client.ObjectKey{Namespace: commonv1alpha1.PoolLeaseNamespace("MachinePool"), Name: pool}
	var first metav1.MicroTime
	poollettest.Eventually(t, wait, "lease", func() error {
		l := &coordinationv1.Lease{}
		if err := e.Client.Get(ctx, leaseKey, l); err != nil {
			return err
		}
		first = *l.Spec.RenewTime
		return nil
	})
	poollettest.Eventually(t, wait, "lease renewed", func() error {
		l := &coordinationv1.Lease{}
		if err := e.Client.Get(ctx, leaseKey, l); err != nil {
			return err
		}
		if !l.Spec.RenewTime.After(first.Time) {
			return fmt.Errorf("renewTime still %v", first)
		}
		if *l.Spec.LeaseDurationSeconds != 40 {
			return fmt.Errorf("lease duration %d", *l.Spec.LeaseDurationSeconds)
		}
		return nil
	})

	if err := e.Client.Create(ctx, newMachine("vm")); err != nil {
		t.Fatal(err)
	}
	m := waitState(t, e, "vm", computev1alpha1.MachineStateRunning)
	if !strings.HasPrefix(m.Status.MachineID, "ironfed-memory://") {
		t.Errorf("machineID %q", m.Status.MachineID)
	}
	if !contains(m.Finalizers, machinepoollet.Finalizer) {
		t.Errorf("finalizers %v", m.Finalizers)
	}
	iri := iriMachines(t, e, string(m.UID))
	if len(iri) != 1 {
		t.Fatalf("%d IRI machines", len(iri))
	}
	l := iri[0].GetMetadata().GetLabels()
	for k, v := range map[string]string{
		labels.MachineNamespaceLabel: "default", labels.MachineNameLabel: "vm",
		labels.MachineDownwardAPIPrefix + "root-machine-uid":  string(m.UID),
		labels.MachineDownwardAPIPrefix + "root-machine-name": "vm",
	} {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
	if "ironfed-memory://"+iri[0].GetMetadata().GetId() != m.Status.MachineID {
		t.Errorf("machineID %q, IRI id %q", m.Status.MachineID, iri[0].GetMetadata().GetId())
	}
	poollettest.Eventually(t, wait, "allocatable", func() error {
		if err := e.Client.Get(ctx, client.ObjectKey{Name: pool}, p); err != nil {
			return err
		}
		if q := p.Status.Allocatable[count]; q.Value() != 999 {
			return fmt.Errorf("allocatable %v", p.Status.Allocatable)
		}
		return nil
	})

	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) { m.Spec.Power = computev1alpha1.PowerOff })
	waitState(t, e, "vm", computev1alpha1.MachineStateShutdown)
	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) { m.Spec.Power = computev1alpha1.PowerOn })
	waitState(t, e, "vm", computev1alpha1.MachineStateRunning)

	// Attach a volume and a NIC.
	createAvailableVolume(t, e, "data", getMachine(t, e, "vm"))
	nic := &networkingv1alpha1.NetworkInterface{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nic"},
		Spec: networkingv1alpha1.NetworkInterfaceSpec{NetworkRef: commonv1alpha1.LocalObjectReference{Name: "net"}}}
	if err := e.Client.Create(ctx, nic); err != nil {
		t.Fatal(err)
	}
	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) {
		m.Spec.Volumes = []computev1alpha1.Volume{{Name: "data", VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "data"}}}}
		m.Spec.NetworkInterfaces = []computev1alpha1.NetworkInterface{{Name: "eth0", NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{NetworkInterfaceRef: &commonv1alpha1.LocalObjectReference{Name: "nic"}}}}
	})
	poollettest.Eventually(t, wait, "attached", func() error {
		m := getMachine(t, e, "vm")
		if len(m.Status.Volumes) != 1 || m.Status.Volumes[0].State != computev1alpha1.VolumeStateAttached || m.Status.Volumes[0].VolumeRef.Name != "data" {
			return fmt.Errorf("volumes %+v", m.Status.Volumes)
		}
		if len(m.Status.NetworkInterfaces) != 1 || m.Status.NetworkInterfaces[0].State != computev1alpha1.NetworkInterfaceStateAttached {
			return fmt.Errorf("nics %+v", m.Status.NetworkInterfaces)
		}
		return nil
	})
	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) { m.Spec.Volumes, m.Spec.NetworkInterfaces = nil, nil })
	poollettest.Eventually(t, wait, "detached", func() error {
		m := getMachine(t, e, "vm")
		iri := iriMachines(t, e, string(m.UID))
		if len(iri) != 1 || len(iri[0].GetSpec().GetVolumes()) != 0 || len(iri[0].GetSpec().GetNetworkInterfaces()) != 0 {
			return fmt.Errorf("IRI machine %v", iri)
		}
		if len(m.Status.Volumes) != 0 || len(m.Status.NetworkInterfaces) != 0 {
			return fmt.Errorf("status volumes %v nics %v", m.Status.Volumes, m.Status.NetworkInterfaces)
		}
		return nil
	})

	if err := e.Client.Delete(ctx, m); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "machine gone", func() error {
		err := e.Client.Get(ctx, client.ObjectKeyFromObject(m), &computev1alpha1.Machine{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%v)", err)
		}
		if n := len(iriMachines(t, e, string(m.UID))); n != 0 {
			return fmt.Errorf("%d IRI machines left", n)
		}
		return nil
	})
}

// createAvailableVolume creates a Volume and writes the status a volumepoollet would.
// createAvailableVolume makes a Volume as a volumepoollet would, claimed by claimer as the
// controller-manager (not running here) would claim it.
func createAvailableVolume(t *testing.T, e *poollettest.Env, name string, claimer *computev1alpha1.Machine) {
	t.Helper()
	claim := commonv1alpha1.LocalUIDReferenceTo(claimer)
	v := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: storagev1alpha1.VolumeSpec{ClaimRef: &claim}}
	if err := e.Client.Create(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	orig := v.DeepCopy()
	v.Status.State = storagev1alpha1.VolumeStateAvailable
	v.Status.Access = &storagev1alpha1.VolumeAccess{Driver: "memory", Handle: "h-" + name}
	if err := e.Client.Status().Patch(t.Context(), v, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
