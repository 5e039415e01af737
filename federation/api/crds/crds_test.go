// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package crds_test

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"

	"github.com/ironfed/ironfed/federation/api/crds"
)

type want struct {
	kind       string
	scope      apiextensionsv1.ResourceScope
	status     bool
	selectable []string
}

var wantCRDs = map[string]want{
	"machines.compute.ironcore.dev":             {"Machine", apiextensionsv1.NamespaceScoped, true, []string{".spec.machinePoolRef.name", ".spec.machineClassRef.name"}},
	"machineclasses.compute.ironcore.dev":       {"MachineClass", apiextensionsv1.ClusterScoped, false, nil},
	"machinepools.compute.ironcore.dev":         {"MachinePool", apiextensionsv1.ClusterScoped, true, nil},
	"volumes.storage.ironcore.dev":              {"Volume", apiextensionsv1.NamespaceScoped, true, []string{".spec.volumePoolRef.name", ".spec.volumeClassRef.name"}},
	"volumesnapshots.storage.ironcore.dev":      {"VolumeSnapshot", apiextensionsv1.NamespaceScoped, true, []string{".spec.volumeRef.name"}},
	"prefixes.ipam.ironcore.dev":                {"Prefix", apiextensionsv1.NamespaceScoped, true, nil},
	"volumeclasses.storage.ironcore.dev":        {"VolumeClass", apiextensionsv1.ClusterScoped, false, nil},
	"volumepools.storage.ironcore.dev":          {"VolumePool", apiextensionsv1.ClusterScoped, true, nil},
	"buckets.storage.ironcore.dev":              {"Bucket", apiextensionsv1.NamespaceScoped, true, []string{".spec.bucketPoolRef.name", ".spec.bucketClassRef.name"}},
	"bucketclasses.storage.ironcore.dev":        {"BucketClass", apiextensionsv1.ClusterScoped, false, nil},
	"bucketpools.storage.ironcore.dev":          {"BucketPool", apiextensionsv1.ClusterScoped, true, nil},
	"networks.networking.ironcore.dev":          {"Network", apiextensionsv1.NamespaceScoped, true, nil},
	"networkinterfaces.networking.ironcore.dev": {"NetworkInterface", apiextensionsv1.NamespaceScoped, true, []string{".spec.networkRef.name"}},
}

func TestCRDs(t *testing.T) {
	list, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(wantCRDs) {
		t.Fatalf("got %d CRDs, want %d", len(list), len(wantCRDs))
	}
	if !slices.IsSortedFunc(list, func(a, b *apiextensionsv1.CustomResourceDefinition) int {
		return cmp.Compare(a.Name, b.Name)
	}) {
		t.Error("CRDs are not sorted by name")
	}
	for _, crd := range list {
		w, ok := wantCRDs[crd.Name]
		if !ok {
			t.Errorf("unexpected CRD %s", crd.Name)
			continue
		}
		if crd.Spec.Names.Kind != w.kind {
			t.Errorf("%s: kind %q, want %q", crd.Name, crd.Spec.Names.Kind, w.kind)
		}
		if crd.Spec.Scope != w.scope {
			t.Errorf("%s: scope %q, want %q", crd.Name, crd.Spec.Scope, w.scope)
		}
		if len(crd.Spec.Versions) != 1 {
			t.Fatalf("%s: %d versions, want 1", crd.Name, len(crd.Spec.Versions))
		}
		v := crd.Spec.Versions[0]
		if v.Name != "v1alpha1" || !v.Served || !v.Storage {
			t.Errorf("%s: version %s served=%v storage=%v, want served and stored v1alpha1", crd.Name, v.Name, v.Served, v.Storage)
		}
		hasStatus := v.Subresources != nil && v.Subresources.Status != nil
		if hasStatus != w.status {
			t.Errorf("%s: status subresource %v, want %v", crd.Name, hasStatus, w.status)
		}
		var selectable []string
		for _, f := range v.SelectableFields {
			selectable = append(selectable, f.JSONPath)
		}
		if !slices.Equal(selectable, w.selectable) {
			t.Errorf("%s: selectableFields %v, want %v", crd.Name, selectable, w.selectable)
		}
		var columns []string
		for _, c := range v.AdditionalPrinterColumns {
			columns = append(columns, c.Name)
		}
		if !slices.Contains(columns, "Age") {
			t.Errorf("%s: printer columns %v lack Age", crd.Name, columns)
		}
	}
}

// TestCRDsValid runs the apiserver's own CRD validation, which also compiles
// every CEL rule and checks its estimated cost against the apiserver's limits.
func TestCRDsValid(t *testing.T) {
	list, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, crd := range list {
		apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
		internal := &apiextensions.CustomResourceDefinition{}
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
			t.Fatalf("%s: %v", crd.Name, err)
		}
		for _, e := range apiextensionsvalidation.ValidateCustomResourceDefinition(context.Background(), internal) {
			t.Errorf("%s: %v", crd.Name, e)
		}
	}
}

func TestCRDsReturnsFreshCopies(t *testing.T) {
	a, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	a[0].Name = "mutated"
	b, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	if b[0].Name == "mutated" {
		t.Error("CRDs returned shared objects")
	}
}
