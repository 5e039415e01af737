// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

func TestClassCount(t *testing.T) {
	name := commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, "x3-xlarge")
	if name != "class/machine.x3-xlarge" {
		t.Errorf("ClassCountFor = %q, want class/machine.x3-xlarge (IronCore's format)", name)
	}
	if !commonv1alpha1.IsClassCountResource(name) || commonv1alpha1.IsClassCountResource(commonv1alpha1.ResourceCPU) {
		t.Error("IsClassCountResource misclassifies")
	}
	typ, class, ok := commonv1alpha1.ParseClassCount(name)
	if !ok || typ != commonv1alpha1.ClassTypeMachineClass || class != "x3-xlarge" {
		t.Errorf("ParseClassCount = %q, %q, %v", typ, class, ok)
	}
	// Class names may contain dots; the type never does.
	typ, class, ok = commonv1alpha1.ParseClassCount(commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeBucketClass, "a.b"))
	if !ok || typ != commonv1alpha1.ClassTypeBucketClass || class != "a.b" {
		t.Errorf("ParseClassCount with dotted name = %q, %q, %v", typ, class, ok)
	}
	for _, bad := range []commonv1alpha1.ResourceName{"cpu", "class/", "class/machine", "class/.x", "class/machine."} {
		if _, _, ok := commonv1alpha1.ParseClassCount(bad); ok {
			t.Errorf("ParseClassCount(%q) succeeded", bad)
		}
	}
}

func TestResourceList(t *testing.T) {
	rl := commonv1alpha1.ResourceList{
		commonv1alpha1.ResourceCPU:    resource.MustParse("4"),
		commonv1alpha1.ResourceMemory: resource.MustParse("16Gi"),
	}
	if rl.CPU().Value() != 4 || rl.Memory().Value() != 16<<30 {
		t.Errorf("CPU %v, Memory %v", rl.CPU(), rl.Memory())
	}
	if !rl.Storage().IsZero() || rl.Storage().Format != resource.BinarySI {
		t.Errorf("missing storage = %#v, want zero BinarySI", rl.Storage())
	}
	var nilList commonv1alpha1.ResourceList
	if !nilList.IOPS().IsZero() {
		t.Error("nil list has IOPS")
	}
	// Name returns a copy.
	rl.CPU().Add(resource.MustParse("1"))
	if rl.CPU().Value() != 4 {
		t.Error("CPU() aliases the list")
	}
}

func TestTolerations(t *testing.T) {
	noSchedule := commonv1alpha1.Taint{Key: "dedicated", Value: "web", Effect: commonv1alpha1.TaintEffectNoSchedule}
	cases := []struct {
		name       string
		toleration commonv1alpha1.Toleration
		want       bool
	}{
		{"equal", commonv1alpha1.Toleration{Key: "dedicated", Value: "web"}, true},
		{"explicit equal", commonv1alpha1.Toleration{Key: "dedicated", Operator: commonv1alpha1.TolerationOpEqual, Value: "web", Effect: commonv1alpha1.TaintEffectNoSchedule}, true},
		{"other value", commonv1alpha1.Toleration{Key: "dedicated", Value: "db"}, false},
		{"exists", commonv1alpha1.Toleration{Key: "dedicated", Operator: commonv1alpha1.TolerationOpExists}, true},
		{"exists everything", commonv1alpha1.Toleration{Operator: commonv1alpha1.TolerationOpExists}, true},
		{"other key", commonv1alpha1.Toleration{Key: "gpu", Operator: commonv1alpha1.TolerationOpExists}, false},
		{"other effect", commonv1alpha1.Toleration{Key: "dedicated", Operator: commonv1alpha1.TolerationOpExists, Effect: commonv1alpha1.TaintEffectNoExecute}, false},
		{"unknown operator", commonv1alpha1.Toleration{Key: "dedicated", Operator: "In", Value: "web"}, false},
	}
	for _, c := range cases {
		if got := c.toleration.ToleratesTaint(&noSchedule); got != c.want {
			t.Errorf("%s: ToleratesTaint = %v, want %v", c.name, got, c.want)
		}
	}

	taints := []commonv1alpha1.Taint{noSchedule, {Key: "gpu", Effect: commonv1alpha1.TaintEffectNoExecute}}
	if commonv1alpha1.TolerateTaints([]commonv1alpha1.Toleration{{Key: "dedicated", Value: "web"}}, taints) {
		t.Error("tolerated an untolerated taint")
	}
	if !commonv1alpha1.TolerateTaints([]commonv1alpha1.Toleration{{Key: "dedicated", Value: "web"}, {Key: "gpu", Operator: commonv1alpha1.TolerationOpExists}}, taints) {
		t.Error("did not tolerate tolerated taints")
	}
	if !commonv1alpha1.TolerateTaints(nil, nil) {
		t.Error("no taints must be tolerated")
	}
}
