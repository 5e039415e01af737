package conditions_test

import (
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/api"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	"github.com/ironfed/ironfed/federation/api/crds"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/test/framework"
)

func TestUndeclaredStatusFields(t *testing.T) {
	err := errors.New(`failed to create typed patch object (storage.ironcore.dev/v1alpha1, Kind=BucketPool): errors:
  .status.allocatable: field not declared in schema
  .status.capacity: field not declared in schema
  .status.conditions[type="Ready"].reason: field not declared in schema`)
	if got := conditions.UndeclaredStatusFields(err); !slices.Equal(got, []string{"allocatable", "capacity", "conditions"}) {
		t.Fatalf("got %v", got)
	}
	if got := conditions.UndeclaredStatusFields(errors.New("the object has been modified")); got != nil {
		t.Fatalf("got %v from an unrelated error", got)
	}
}

// ApplyStatus against a schema without ironfed's additions (IronCore's BucketPool status has only
// state and availableBucketClasses): the declared fields are applied, the others left out, where
// the whole apply used to be refused.
func TestApplyStatusLeavesOutUndeclaredFields(t *testing.T) {
	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	var narrow []*apiextensionsv1.CustomResourceDefinition
	for _, d := range defs {
		if d.Spec.Names.Kind != "BucketPool" {
			continue
		}
		d = d.DeepCopy()
		for i := range d.Spec.Versions {
			status := d.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["status"]
			for field := range status.Properties {
				if field != "state" && field != "availableBucketClasses" {
					delete(status.Properties, field)
				}
			}
			d.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["status"] = status
		}
		narrow = append(narrow, d)
	}
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"narrow"}, CRDs: narrow, WithoutControllerManager: true})[0]
	scheme := runtime.NewScheme()
	if err := api.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	pool := &storagev1alpha1.BucketPool{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	if err := cl.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}
	pool.Status = storagev1alpha1.BucketPoolStatus{
		State:                  storagev1alpha1.BucketPoolStateAvailable,
		AvailableBucketClasses: []corev1.LocalObjectReference{{Name: "standard"}},
		Capacity: commonv1alpha1.ResourceList{
			commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeBucketClass, "standard"): resource.MustParse("10")},
		Conditions: []storagev1alpha1.BucketPoolCondition{{Type: "Ready", Status: corev1.ConditionTrue, Reason: "R"}},
	}
	if err := conditions.ApplyStatus(ctx, cl, pool, "test", conditions.Owned{Conditions: conditions.AllBut()}); err != nil {
		t.Fatalf("apply against the narrow schema: %v", err)
	}
	got := &storagev1alpha1.BucketPool{}
	if err := cl.Get(ctx, client.ObjectKey{Name: "p"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.State != storagev1alpha1.BucketPoolStateAvailable || len(got.Status.AvailableBucketClasses) != 1 {
		t.Fatalf("declared fields not applied: %+v", got.Status)
	}
}
