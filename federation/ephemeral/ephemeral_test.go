// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package ephemeral_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/federation/ephemeral"
	"github.com/ironfed/ironfed/test/framework"
)

// start runs a real cluster (with kube-controller-manager, for owner-reference garbage
// collection) and the ephemeral controllers against it.
func start(t *testing.T) client.Client {
	t.Helper()
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"eph"}})[0]
	mgr, err := ctrl.NewManager(c.Config, ctrl.Options{Scheme: controllermanager.NewScheme(),
		Metrics: metricsserver.Options{BindAddress: "0"}, Controller: app.ControllerConfig(true)})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&ephemeral.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := (&ephemeral.NICReleaser{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	cl, err := client.New(c.Config, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func eventually(t *testing.T, what string, cond func(ctx context.Context) error) {
	t.Helper()
	var last error
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = cond(ctx)
		return last == nil, nil
	}); err != nil {
		t.Fatalf("%s: %v", what, last)
	}
}

func machineWithEphemerals(name string) *computev1alpha1.Machine {
	return &computev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: computev1alpha1.MachineSpec{
			MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"},
			Volumes: []computev1alpha1.Volume{{Name: "root", VolumeSource: computev1alpha1.VolumeSource{Ephemeral: &computev1alpha1.EphemeralVolumeSource{
				VolumeTemplate: &storagev1alpha1.VolumeTemplateSpec{Spec: storagev1alpha1.VolumeSpec{
					VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
					Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
				}}}}}},
			NetworkInterfaces: []computev1alpha1.NetworkInterface{{Name: "eth0", NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{Ephemeral: &computev1alpha1.EphemeralNetworkInterfaceSource{
				NetworkInterfaceTemplate: &networkingv1alpha1.NetworkInterfaceTemplateSpec{Spec: networkingv1alpha1.NetworkInterfaceSpec{
					NetworkRef: commonv1alpha1.LocalObjectReference{Name: "net"},
				}}}}}},
		},
	}
}

// TestEphemeralsMarkedAndPrunedOnlyWhenMarked: the controller-manager creates a Machine's
// ephemeral Volume and NetworkInterface with IronCore's marker, controlled and claimed by the
// Machine. Dropping them from the spec prunes them, but never a Volume the Machine merely controls
// (as a broker's connection Volume is) nor an unrelated object that happens to carry the name.
func TestEphemeralsMarkedAndPrunedOnlyWhenMarked(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := t.Context()
	// Squatting on the name of the second ephemeral volume: not the Machine's, never touched.
	squatter := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vm-data"}}
	if err := c.Create(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	m := machineWithEphemerals("vm")
	m.Spec.Volumes = append(m.Spec.Volumes, computev1alpha1.Volume{Name: "data", VolumeSource: computev1alpha1.VolumeSource{
		Ephemeral: &computev1alpha1.EphemeralVolumeSource{VolumeTemplate: &storagev1alpha1.VolumeTemplateSpec{}}}})
	if err := c.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	vol, nic := &storagev1alpha1.Volume{}, &networkingv1alpha1.NetworkInterface{}
	eventually(t, "ephemerals created", func(ctx context.Context) error {
		return errorsJoin(c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-root"}, vol),
			c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-eth0"}, nic))
	})
	for _, o := range []client.Object{vol, nic} {
		if !ephemeral.IsManagedBy(o, m) || o.GetAnnotations()[ephemeral.ManagedByAnnotation] != "ephemeral-manager" {
			t.Errorf("%s: annotations %v, owners %v: want IronCore's marker and the Machine as controller", o.GetName(), o.GetAnnotations(), o.GetOwnerReferences())
		}
	}
	if vol.Spec.ClaimRef == nil || vol.Spec.ClaimRef.UID != m.UID || nic.Spec.MachineRef == nil || nic.Spec.MachineRef.UID != m.UID {
		t.Errorf("claimRef %v, machineRef %v: want the Machine %s", vol.Spec.ClaimRef, nic.Spec.MachineRef, m.UID)
	}

	// A Volume the Machine controls without the marker (a broker's connection Volume).
	attached := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vm-conn",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: computev1alpha1.SchemeGroupVersion.String(), Kind: "Machine", Name: m.Name, UID: m.UID, Controller: ptr.To(true)}}}}
	if err := c.Create(ctx, attached); err != nil {
		t.Fatal(err)
	}
	orig := m.DeepCopy()
	m.Spec.Volumes, m.Spec.NetworkInterfaces = nil, nil
	if err := c.Patch(ctx, m, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ephemerals pruned", func(ctx context.Context) error {
		for _, o := range []client.Object{&storagev1alpha1.Volume{}, &networkingv1alpha1.NetworkInterface{}} {
			name := map[bool]string{true: "vm-root", false: "vm-eth0"}[isVolume(o)]
			if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, o); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s still there (%v)", name, err)
			}
		}
		return nil
	})
	// The pruning pass has run: what is not the Machine's ephemeral stays.
	for _, name := range []string{"vm-conn", "vm-data"} {
		v := &storagev1alpha1.Volume{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, v); err != nil || !v.DeletionTimestamp.IsZero() {
			t.Errorf("volume %s: %v, deleting %v: want it kept", name, err, v.DeletionTimestamp)
		}
		if name == "vm-data" && (len(v.OwnerReferences) != 0 || v.Annotations[ephemeral.ManagedByAnnotation] != "") {
			t.Errorf("volume vm-data was adopted: owners %v, annotations %v", v.OwnerReferences, v.Annotations)
		}
	}
}

// TestNetworkInterfaceClaimReleased: a NetworkInterface claimed (spec.machineRef) by a Machine is
// released when the Machine is deleted, and kept while a live Machine refers to it.
func TestNetworkInterfaceClaimReleased(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := t.Context()
	var machines []*computev1alpha1.Machine
	for _, name := range []string{"a", "b"} {
		m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: computev1alpha1.MachineSpec{
			MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"},
			NetworkInterfaces: []computev1alpha1.NetworkInterface{{Name: "eth0", NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{
				NetworkInterfaceRef: &commonv1alpha1.LocalObjectReference{Name: "nic-" + name}}}},
		}}
		if err := c.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		ref := commonv1alpha1.LocalUIDReferenceTo(m)
		nic := &networkingv1alpha1.NetworkInterface{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nic-" + name},
			Spec: networkingv1alpha1.NetworkInterfaceSpec{NetworkRef: commonv1alpha1.LocalObjectReference{Name: "net"}, MachineRef: &ref}}
		if err := c.Create(ctx, nic); err != nil {
			t.Fatal(err)
		}
		machines = append(machines, m)
	}
	if err := c.Delete(ctx, machines[0]); err != nil {
		t.Fatal(err)
	}
	eventually(t, "nic-a released", func(ctx context.Context) error {
		nic := &networkingv1alpha1.NetworkInterface{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "nic-a"}, nic); err != nil {
			return err
		}
		if nic.Spec.MachineRef != nil {
			return fmt.Errorf("machineRef %v", nic.Spec.MachineRef)
		}
		return nil
	})
	nic := &networkingv1alpha1.NetworkInterface{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "nic-b"}, nic); err != nil {
		t.Fatal(err)
	}
	if nic.Spec.MachineRef == nil || nic.Spec.MachineRef.UID != machines[1].UID {
		t.Errorf("nic-b machineRef %v: want it kept by the live Machine b", nic.Spec.MachineRef)
	}
}

func isVolume(o client.Object) bool { _, ok := o.(*storagev1alpha1.Volume); return ok }

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
