// Package ownership_test checks that the three writers of status conditions (poollet, scheduler,
// pool-lifecycle controller) never erase each other's conditions.
package ownership_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/federation/poollifecycle"
	"github.com/ironfed/ironfed/federation/scheduler"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/test/framework"
)

const rounds = 25

// TestOwnedConditionsSurviveRacingWriters: the poollet and the scheduler write a Machine's
// conditions, the poollet and the lifecycle controller a MachinePool's, concurrently and from
// stale views (as between two informer events), each with its real ownership spec and field
// manager. No condition and no field of another writer may be lost. The reference, in the same
// run: the same writes as JSON merge patches from the same stale views lose a writer's conditions.
func TestOwnedConditionsSurviveRacingWriters(t *testing.T) {
	ctx := t.Context()
	cfg := framework.StartClusters(t, framework.ClustersInput{Names: []string{"owners"}, WithoutControllerManager: true})[0].Config
	c, err := client.New(cfg, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	machine := createMachine(t, c, "raced")
	pool := &computev1alpha1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: "raced"}, Spec: computev1alpha1.MachinePoolSpec{ProviderID: "test://raced"}}
	if err := c.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}

	var conflicts atomic.Int64
	writers := map[string]func(i int) error{
		"machine poollet": func(i int) error {
			m := machine.DeepCopy() // never refreshed: the stalest possible view
			setMachine(m, core.ConditionPrerequisitesMet, corev1.ConditionTrue, fmt.Sprint("poollet ", i))
			setMachine(m, core.ConditionRuntimeSynced, corev1.ConditionTrue, fmt.Sprint("poollet ", i))
			m.Status.State = computev1alpha1.MachineStateRunning
			return conditions.ApplyStatus(ctx, c, m, core.FieldManager("Machine"), core.OwnedObjectStatus)
		},
		"scheduler": func(i int) error {
			m := machine.DeepCopy()
			setMachine(m, commonv1alpha1.ConditionTypeScheduled, corev1.ConditionTrue, fmt.Sprint("scheduler ", i))
			return conditions.ApplyStatus(ctx, c, m, scheduler.FieldManager, scheduler.OwnedStatus)
		},
		"pool poollet": func(i int) error {
			p := pool.DeepCopy()
			setPoolReady(p, corev1.ConditionTrue, "RuntimeReady", fmt.Sprint("poollet ", i))
			p.Status.State = computev1alpha1.MachinePoolStateReady
			p.Status.AvailableMachineClasses = []corev1.LocalObjectReference{{Name: "small"}}
			p.Status.Capacity = commonv1alpha1.ResourceList{commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, "small"): resource.MustParse("7")}
			return conditions.ApplyStatus(ctx, c, p, core.FieldManager("Machine"), core.OwnedPoolStatus)
		},
		"lifecycle": func(i int) error {
			// Its write is conditional on the version it saw: a conflict means "look again".
			for {
				p := &computev1alpha1.MachinePool{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(pool), p); err != nil {
					return err
				}
				setPoolReady(p, corev1.ConditionUnknown, commonv1alpha1.ReasonHeartbeatExpired, fmt.Sprint("lifecycle ", i))
				p.Status.State = computev1alpha1.MachinePoolStateOffline
				err := conditions.ApplyStatus(ctx, c, p, poollifecycle.FieldManager("MachinePool"), poollifecycle.OwnedStatus)
				if !apierrors.IsConflict(err) {
					return err
				}
				conflicts.Add(1)
			}
		},
	}
	race(t, writers)

	got := &computev1alpha1.Machine{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(machine), got); err != nil {
		t.Fatal(err)
	}
	last := fmt.Sprint(rounds - 1)
	for typ, msg := range map[string]string{
		core.ConditionPrerequisitesMet:        "poollet " + last,
		core.ConditionRuntimeSynced:           "poollet " + last,
		commonv1alpha1.ConditionTypeScheduled: "scheduler " + last,
	} {
		if c, ok := conditions.Get(got.Status.Conditions, conditions.Machine, typ); !ok || c.Message != msg {
			t.Errorf("Machine condition %s = %+v (found %v), want message %q", typ, c, ok, msg)
		}
	}
	if got.Status.State != computev1alpha1.MachineStateRunning {
		t.Errorf("Machine state %q, want the poollet's Running", got.Status.State)
	}
	for _, m := range []string{core.FieldManager("Machine"), scheduler.FieldManager} {
		if !slices.ContainsFunc(got.ManagedFields, func(f metav1.ManagedFieldsEntry) bool {
			return f.Manager == m && f.Operation == metav1.ManagedFieldsOperationApply && f.Subresource == "status"
		}) {
			t.Errorf("no status apply by field manager %s in %v", m, got.ManagedFields)
		}
	}

	gotPool := &computev1alpha1.MachinePool{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pool), gotPool); err != nil {
		t.Fatal(err)
	}
	if len(gotPool.Status.AvailableMachineClasses) != 1 || len(gotPool.Status.Capacity) != 1 {
		t.Errorf("the lifecycle controller's writes erased the poollet's classes or capacity: %+v", gotPool.Status)
	}
	ready, ok := conditions.Get(gotPool.Status.Conditions, conditions.MachinePool, commonv1alpha1.ConditionTypeReady)
	wantState := map[corev1.ConditionStatus]computev1alpha1.MachinePoolState{
		corev1.ConditionTrue: computev1alpha1.MachinePoolStateReady, corev1.ConditionUnknown: computev1alpha1.MachinePoolStateOffline}[ready.Status]
	if !ok || (ready.Message != "poollet "+last && ready.Message != "lifecycle "+last) || gotPool.Status.State != wantState {
		t.Errorf("pool Ready = %+v (found %v), state %q: want the last write of one writer, state matching", ready, ok, gotPool.Status.State)
	}
	t.Logf("owned applies: %d writers × %d rounds, nothing lost; the lifecycle controller retried %d stale writes", len(writers), rounds, conflicts.Load())

	// Reference: the same stale-view writes as merge patches, as the writers did before.
	ref := createMachine(t, c, "reference")
	patch := func(typ, msg string) {
		m := ref.DeepCopy()
		setMachine(m, typ, corev1.ConditionTrue, msg)
		if err := c.Status().Patch(ctx, m, client.MergeFrom(ref)); err != nil {
			t.Fatal(err)
		}
	}
	patch(commonv1alpha1.ConditionTypeScheduled, "scheduler")
	patch(core.ConditionPrerequisitesMet, "poollet")
	if err := c.Get(ctx, client.ObjectKeyFromObject(ref), ref); err != nil {
		t.Fatal(err)
	}
	if _, ok := conditions.Get(ref.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeScheduled); ok {
		t.Fatalf("reference: a merge patch from a stale view kept the other writer's condition; this test no longer shows what it guards against")
	}
	t.Logf("reference: merge patches from the same stale views lost the scheduler's Scheduled condition")
}

// race runs every writer rounds times, all writers concurrently.
func race(t *testing.T, writers map[string]func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	for name, w := range writers {
		wg.Go(func() {
			for i := range rounds {
				if err := w(i); err != nil {
					t.Errorf("%s, round %d: %v", name, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func createMachine(t *testing.T, c client.Client, name string) *computev1alpha1.Machine {
	t.Helper()
	m := &computev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "small"}},
	}
	if err := c.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func setMachine(m *computev1alpha1.Machine, typ string, status corev1.ConditionStatus, msg string) {
	m.Status.Conditions, _ = conditions.Set(m.Status.Conditions, conditions.Machine,
		conditions.Condition{Type: typ, Status: status, Reason: "Test", Message: msg})
}

func setPoolReady(p *computev1alpha1.MachinePool, status corev1.ConditionStatus, reason, msg string) {
	p.Status.Conditions, _ = conditions.Set(p.Status.Conditions, conditions.MachinePool,
		conditions.Condition{Type: commonv1alpha1.ConditionTypeReady, Status: status, Reason: reason, Message: msg})
}
