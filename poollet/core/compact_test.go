// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"strings"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
)

type compactClass struct{}

func (compactClass) CompactCached(m *computev1alpha1.Machine) {
	app.Intern(&m.Spec.MachineClassRef.Name)
}

// Two decoded objects' equal strings share memory once cached; managed fields are gone.
func TestCacheTransformInterns(t *testing.T) {
	transform := cacheTransform[*computev1alpha1.Machine](compactClass{})
	objs := make([]*computev1alpha1.Machine, 2)
	for i := range objs {
		m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{
			// strings.Clone: each its own memory, as two decoded objects' are.
			Namespace: strings.Clone("default"), Finalizers: []string{strings.Clone("compute.ironcore.dev/machinepoollet")},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}},
		}}
		m.Spec.MachineClassRef.Name = strings.Clone("m-small")
		out, err := transform(m)
		if err != nil {
			t.Fatal(err)
		}
		objs[i] = out.(*computev1alpha1.Machine)
	}
	a, b := objs[0], objs[1]
	if a.ManagedFields != nil {
		t.Error("managed fields kept")
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a.Namespace, b.Namespace) || !same(a.Finalizers[0], b.Finalizers[0]) || !same(a.Spec.MachineClassRef.Name, b.Spec.MachineClassRef.Name) {
		t.Error("equal strings of two cached objects are not shared")
	}
	if a.Namespace != "default" || a.Finalizers[0] != "compute.ironcore.dev/machinepoollet" || a.Spec.MachineClassRef.Name != "m-small" {
		t.Errorf("values changed: %+v", a.ObjectMeta)
	}
}
