// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/test/poollettest"
)

// Inline volume and NIC templates become <machine>-<name> objects owned by the machine.
func TestEphemeralVolumesAndNetworkInterfaces(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, false, nil)
	ctx := t.Context()
	m := newMachine("vm")
	m.Spec.Volumes = []computev1alpha1.Volume{{Name: "root", VolumeSource: computev1alpha1.VolumeSource{Ephemeral: &computev1alpha1.EphemeralVolumeSource{
		VolumeTemplate: &storagev1alpha1.VolumeTemplateSpec{Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
		}}}}}}
	m.Spec.NetworkInterfaces = []computev1alpha1.NetworkInterface{{Name: "eth0", NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{Ephemeral: &computev1alpha1.EphemeralNetworkInterfaceSource{
		NetworkInterfaceTemplate: &networkingv1alpha1.NetworkInterfaceTemplateSpec{Spec: networkingv1alpha1.NetworkInterfaceSpec{
			NetworkRef: commonv1alpha1.LocalObjectReference{Name: "net"},
		}}}}}}
	if err := e.Client.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionFalse, machinepoollet.ReasonWaitingForVolumes, "volume vm-root is not Available")
	vol := &storagev1alpha1.Volume{}
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-root"}, vol); err != nil {
		t.Fatal(err)
	}
	nic := &networkingv1alpha1.NetworkInterface{}
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-eth0"}, nic); err != nil {
		t.Fatal(err)
	}
	uid := getMachine(t, e, "vm").UID
	for _, o := range []client.Object{vol, nic} {
		if refs := o.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != uid {
			t.Errorf("%s owner references %v", o.GetName(), refs)
		}
	}
	orig := vol.DeepCopy()
	vol.Status.State = storagev1alpha1.VolumeStateAvailable
	vol.Status.Access = &storagev1alpha1.VolumeAccess{Driver: "memory", Handle: "root"}
	if err := e.Client.Status().Patch(ctx, vol, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, "vm", computev1alpha1.MachineStateRunning)
	poollettest.Eventually(t, wait, "attached", func() error {
		m := getMachine(t, e, "vm")
		if len(m.Status.Volumes) != 1 || m.Status.Volumes[0].VolumeRef.Name != "vm-root" || len(m.Status.NetworkInterfaces) != 1 {
			return fmt.Errorf("volumes %+v nics %+v", m.Status.Volumes, m.Status.NetworkInterfaces)
		}
		return nil
	})

	// Dropping the template from the spec deletes the ephemeral volume.
	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) { m.Spec.Volumes = nil })
	poollettest.Eventually(t, wait, "ephemeral volume pruned", func() error {
		err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-root"}, &storagev1alpha1.Volume{})
		if err == nil {
			return fmt.Errorf("still there")
		}
		return client.IgnoreNotFound(err)
	})
}
