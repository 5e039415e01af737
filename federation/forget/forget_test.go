package forget_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/federation/forget"
	"github.com/ironfed/ironfed/test/framework"
)

const finalizer = "machinepoollet.ironcore.dev/machine"

func TestForget(t *testing.T) {
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"f"}, WithoutControllerManager: true})[0]
	kube, err := client.New(c.Config, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []string{"gone", "alive"} {
		if err := kube.Create(ctx, &computev1alpha1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: p}}); err != nil {
			t.Fatal(err)
		}
	}
	machine := func(name, pool string, terminating bool) *computev1alpha1.Machine {
		m := &computev1alpha1.Machine{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Finalizers: []string{finalizer, "example.com/other"}},
			Spec: computev1alpha1.MachineSpec{
				MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"},
				MachinePoolRef:  &commonv1alpha1.LocalObjectReference{Name: pool},
			},
		}
		if err := kube.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		if terminating {
			if err := kube.Delete(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	stuck := machine("stuck", "gone", true)
	live := machine("live", "gone", false)
	elsewhere := machine("elsewhere", "alive", true)

	finalizers := func(m *computev1alpha1.Machine) []string {
		t.Helper()
		got := &computev1alpha1.Machine{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(m), got); err != nil {
			t.Fatal(err)
		}
		return got.Finalizers
	}

	// Dry run: reported, nothing changed.
	res, err := forget.Forget(ctx, kube, forget.Options{Pool: "gone", Kinds: []string{"machine"}, DeleteObjects: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Released) != 2 || len(res.Deleted) != 1 || len(res.PoolsRemoved) != 1 {
		t.Errorf("dry run result %+v; want 2 released, 1 deleted, 1 pool", res)
	}
	if !slices.Contains(finalizers(stuck), finalizer) || !slices.Contains(finalizers(live), finalizer) {
		t.Fatal("dry run changed finalizers")
	}

	// Without DeleteObjects only the terminating machine is released; only the poollet's finalizer goes.
	res, err = forget.Forget(ctx, kube, forget.Options{Pool: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"machine/default/stuck"}; !reflect.DeepEqual(res.Released, want) || len(res.Deleted) != 0 {
		t.Errorf("result %+v; want released %v, nothing deleted", res, want)
	}
	if got := finalizers(stuck); !reflect.DeepEqual(got, []string{"example.com/other"}) {
		t.Errorf("stuck finalizers %v; want only the foreign one left", got)
	}
	if !slices.Contains(finalizers(live), finalizer) {
		t.Error("live machine was released")
	}
	if !slices.Contains(finalizers(elsewhere), finalizer) {
		t.Error("a machine of another pool was released")
	}
	if err := kube.Get(ctx, client.ObjectKey{Name: "gone"}, &computev1alpha1.MachinePool{}); err == nil {
		t.Error("pool gone still exists")
	}
	if err := kube.Get(ctx, client.ObjectKey{Name: "alive"}, &computev1alpha1.MachinePool{}); err != nil {
		t.Errorf("pool alive: %v", err)
	}

	// DeleteObjects: the live one is deleted and released too.
	res, err = forget.Forget(ctx, kube, forget.Options{Pool: "gone", Kinds: []string{"machine"}, DeleteObjects: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || !slices.Contains(res.Released, "machine/default/live") {
		t.Errorf("result %+v; want live deleted and released", res)
	}
	got := &computev1alpha1.Machine{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(live), got); err != nil || got.DeletionTimestamp == nil || slices.Contains(got.Finalizers, finalizer) {
		t.Errorf("live after forget: %v %v", got.DeletionTimestamp, got.Finalizers)
	}

	for want, bad := range map[string]forget.Options{"pool name is required": {}, `unknown kind "vm"`: {Pool: "x", Kinds: []string{"vm"}}} {
		if _, err := forget.Forget(ctx, kube, bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Forget(%+v) = %v; want an error saying %q", bad, err, want)
		}
	}
}
