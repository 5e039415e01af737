package crds_test

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/api"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/test/framework"
)

// TestAPIServerRejectsBadObjects: the installed CRDs make a real kube-apiserver reject bad objects
// with a message naming the field, and serve the selectable fields.
func TestAPIServerRejectsBadObjects(t *testing.T) {
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"api"}, WithoutControllerManager: true})[0]
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
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "default", Name: name} }
	class := commonv1alpha1.LocalObjectReference{Name: "small"}

	for _, tc := range []struct {
		name string
		obj  client.Object
		want string
	}{
		{"machine without class", &computev1alpha1.Machine{ObjectMeta: meta("no-class")}, "spec.machineClassRef.name"},
		{"machine with unknown power", &computev1alpha1.Machine{ObjectMeta: meta("bad-power"),
			Spec: computev1alpha1.MachineSpec{MachineClassRef: class, Power: "Maybe"}}, `spec.power: Unsupported value: "Maybe"`},
		{"volume with two sources", &computev1alpha1.Machine{ObjectMeta: meta("two-sources"),
			Spec: computev1alpha1.MachineSpec{MachineClassRef: class, Volumes: []computev1alpha1.Volume{{
				Name: "root", VolumeSource: computev1alpha1.VolumeSource{
					VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "v"}, EmptyDisk: &computev1alpha1.EmptyDiskVolumeSource{}},
			}}}}, "spec.volumes[0]"},
		{"duplicate volume names", &computev1alpha1.Machine{ObjectMeta: meta("dup-volumes"),
			Spec: computev1alpha1.MachineSpec{MachineClassRef: class, Volumes: []computev1alpha1.Volume{
				{Name: "data", VolumeSource: computev1alpha1.VolumeSource{EmptyDisk: &computev1alpha1.EmptyDiskVolumeSource{}}},
				{Name: "data", VolumeSource: computev1alpha1.VolumeSource{EmptyDisk: &computev1alpha1.EmptyDiskVolumeSource{}}},
			}}}, "Duplicate value"},
		{"volume with class but no size", &storagev1alpha1.Volume{ObjectMeta: meta("no-size"),
			Spec: storagev1alpha1.VolumeSpec{VolumeClassRef: &class}}, "storage"},
		{"unknown taint effect", &computev1alpha1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: "bad-taint"},
			Spec: computev1alpha1.MachinePoolSpec{Taints: []commonv1alpha1.Taint{{Key: "k", Effect: "Sometimes"}}}}, "spec.taints[0].effect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := cl.Create(ctx, tc.obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want Invalid, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}

	t.Run("a bound machine cannot move to another pool", func(t *testing.T) {
		m := &computev1alpha1.Machine{ObjectMeta: meta("bound"), Spec: computev1alpha1.MachineSpec{
			MachineClassRef: class, MachinePoolRef: &commonv1alpha1.LocalObjectReference{Name: "pool-a"}}}
		if err := cl.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Spec.MachinePoolRef.Name = "pool-b"
		err := cl.Update(ctx, m)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "machinePoolRef") {
			t.Fatalf("want Invalid naming machinePoolRef, got %v", err)
		}
	})

	t.Run("pool refs are server-side field selectors", func(t *testing.T) {
		for _, pool := range []string{"pool-x", "pool-y"} {
			v := &storagev1alpha1.Volume{ObjectMeta: meta("on-" + pool), Spec: storagev1alpha1.VolumeSpec{
				VolumeClassRef: &class, VolumePoolRef: &commonv1alpha1.LocalObjectReference{Name: pool},
				Resources: commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")}}}
			if err := cl.Create(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		var list storagev1alpha1.VolumeList
		if err := cl.List(ctx, &list, client.MatchingFields{storagev1alpha1.VolumePoolRefNameField: "pool-x"}); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != "on-pool-x" {
			t.Fatalf("field selector returned %d volumes", len(list.Items))
		}
		err := cl.List(ctx, &list, client.MatchingFields{"spec.unclaimable": "true"})
		if !apierrors.IsBadRequest(err) {
			t.Fatalf("a non-selectable field must be refused by the server, got %v", err)
		}
	})
}
