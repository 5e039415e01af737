// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package admission_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/api"
	"github.com/ironfed/ironfed/federation/api/admission"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/test/framework"
)

func TestObjects(t *testing.T) {
	objs, err := admission.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, reflect.TypeOf(o).Elem().Name())
	}
	if got := strings.Join(kinds, ","); got != "MutatingAdmissionPolicy,MutatingAdmissionPolicy,ValidatingAdmissionPolicy,MutatingAdmissionPolicyBinding,MutatingAdmissionPolicyBinding,ValidatingAdmissionPolicyBinding" {
		t.Errorf("objects %s: want both policies, then their bindings", got)
	}
}

// TestPoliciesEnforced: a real kube-apiserver (v1.37) with the policies installed (the test
// clusters install them as localfed and ironfed up do) assigns volume devices as IronCore's
// MachineVolumeDevices admission does, and refuses oversized and shrinking Volumes with a precise
// message.
func TestPoliciesEnforced(t *testing.T) {
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"adm"}, WithoutControllerManager: true})[0]
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := api.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	disk := computev1alpha1.VolumeSource{EmptyDisk: &computev1alpha1.EmptyDiskVolumeSource{}}

	t.Run("volume devices assigned in order, given ones kept", func(t *testing.T) {
		m := &computev1alpha1.Machine{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "devices"},
			Spec: computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"}, Volumes: []computev1alpha1.Volume{
				{Name: "root", VolumeSource: disk},
				{Name: "given", Device: ptr.To("oda"), VolumeSource: disk},
				{Name: "data", VolumeSource: disk},
			}},
		}
		if err := cl.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got := devices(m); got != "root=odb given=oda data=odc" {
			t.Errorf("devices after create: %s, want root=odb given=oda data=odc", got)
		}
		m.Spec.Volumes = append(m.Spec.Volumes, computev1alpha1.Volume{Name: "more", VolumeSource: disk})
		m.Spec.Volumes = append(m.Spec.Volumes[:0], m.Spec.Volumes[1:]...) // root goes: odb is free again
		if err := cl.Update(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got := devices(m); got != "given=oda data=odc more=odb" {
			t.Errorf("devices after update: %s, want given=oda data=odc more=odb", got)
		}
	})

	t.Run("networkinterface ipFamilies derived from its IPs", func(t *testing.T) {
		nic := &networkingv1alpha1.NetworkInterface{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nic"},
			Spec: networkingv1alpha1.NetworkInterfaceSpec{
				NetworkRef: commonv1alpha1.LocalObjectReference{Name: "net"},
				IPs: []networkingv1alpha1.IPSource{
					{Value: ptr.To(commonv1alpha1.IP("fd00::1"))}, {Value: ptr.To(commonv1alpha1.IP("10.0.0.1"))}, {Value: ptr.To(commonv1alpha1.IP("10.0.0.2"))},
				},
			},
		}
		if err := cl.Create(ctx, nic); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(nic.Spec.IPFamilies); got != "[IPv6 IPv4]" {
			t.Errorf("ipFamilies %s, want [IPv6 IPv4]", got)
		}
	})

	t.Run("status.state defaults to Pending", func(t *testing.T) {
		objs := []client.Object{
			&computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending"},
				Spec: computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"}}},
			&storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending"}},
			&storagev1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending"}},
			&networkingv1alpha1.NetworkInterface{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending"},
				Spec: networkingv1alpha1.NetworkInterfaceSpec{NetworkRef: commonv1alpha1.LocalObjectReference{Name: "net"}, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}}},
		}
		for _, o := range objs {
			if err := cl.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			if err := cl.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				t.Fatal(err)
			}
			if st := reflect.ValueOf(o).Elem().FieldByName("Status").FieldByName("State").String(); st != "Pending" {
				t.Errorf("%T: status.state %q, want Pending", o, st)
			}
		}
	})

	volume := func(name, size string) *storagev1alpha1.Volume {
		return &storagev1alpha1.Volume{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: storagev1alpha1.VolumeSpec{
				VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
				Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse(size)},
			},
		}
	}
	t.Run("volume larger than 1Pi refused", func(t *testing.T) {
		err := cl.Create(ctx, volume("huge", "2Pi"))
		if want := "spec.resources.storage: 2Pi exceeds the largest volume size, 1Pi"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("create 2Pi: %v, want %q", err, want)
		}
		if err := cl.Create(ctx, volume("max", "1Pi")); err != nil {
			t.Errorf("create 1Pi: %v", err)
		}
	})
	t.Run("volume shrink refused, growth allowed", func(t *testing.T) {
		v := volume("grow", "10Gi")
		if err := cl.Create(ctx, v); err != nil {
			t.Fatal(err)
		}
		v.Spec.Resources[commonv1alpha1.ResourceStorage] = resource.MustParse("5Gi")
		err := cl.Update(ctx, v)
		if want := "spec.resources.storage: 5Gi is smaller than 10Gi; volumes can only grow"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("shrink: %v, want %q", err, want)
		}
		if err := cl.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			t.Fatal(err)
		}
		v.Spec.Resources[commonv1alpha1.ResourceStorage] = resource.MustParse("20Gi")
		if err := cl.Update(ctx, v); err != nil {
			t.Errorf("grow: %v", err)
		}
	})
}

func devices(m *computev1alpha1.Machine) string {
	var out []string
	for _, v := range m.Spec.Volumes {
		out = append(out, v.Name+"="+ptr.Deref(v.Device, "<nil>"))
	}
	return strings.Join(out, " ")
}
