package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	"github.com/ironfed/ironfed/federation/localfed"
)

// TestLeafFailureShowsAtTheRoot: the leaf cannot place a machine (its only pool is tainted), so
// nothing runs; the root's Machine says so, naming every level on the way, in DownstreamSynced.
// Lifting the taint lets it run and the condition turns True.
func TestLeafFailureShowsAtTheRoot(t *testing.T) {
	leaf := fed.Client("leaf")
	pool := &computev1alpha1.MachinePool{}
	pool.Name = localfed.LeafPoolName("leaf")
	// Not t.Context(): the clean-up must lift the taint after the test's context is canceled.
	setTaints := func(taints []commonv1alpha1.Taint) error {
		ctx := context.Background()
		if err := leaf.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil {
			return err
		}
		orig := pool.DeepCopy()
		pool.Spec.Taints = taints
		return leaf.Patch(ctx, pool, client.MergeFrom(orig))
	}
	if err := setTaints([]commonv1alpha1.Taint{{Key: "e2e.ironfed.dev/maintenance", Effect: commonv1alpha1.TaintEffectNoSchedule}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := setTaints(nil); err != nil {
			t.Errorf("lifting the taint: %v", err)
		}
	})

	ns := newNamespace(t, "failure")
	m := newMachine(ns, "blocked", false)
	if err := fed.Client("root").Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	downstreamSynced := func(ctx context.Context) (conditions.Condition, error) {
		if err := get(ctx, "root", m); err != nil {
			return conditions.Condition{}, err
		}
		c, _ := conditions.Get(m.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeDownstreamSynced)
		return c, nil
	}
	eventually(t, "the root machine says the leaf cannot schedule it", func(ctx context.Context) (bool, string, error) {
		c, err := downstreamSynced(ctx)
		return c.Status == corev1.ConditionFalse && c.Reason == commonv1alpha1.ReasonUnschedulable &&
				strings.HasPrefix(c.Message, "region: leaf: Scheduled=False") && strings.Contains(c.Message, "taint"),
			fmt.Sprintf("DownstreamSynced=%s %s: %s (state %q)", c.Status, c.Reason, c.Message, m.Status.State), err
	})
	c, _ := downstreamSynced(t.Context())
	t.Logf("root: DownstreamSynced=%s %s: %s", c.Status, c.Reason, c.Message)
	if m.Status.State == computev1alpha1.MachineStateRunning {
		t.Fatal("the machine runs although the leaf cannot place it")
	}

	if err := setTaints(nil); err != nil {
		t.Fatal(err)
	}
	waitMachineState(t, m, computev1alpha1.MachineStateRunning)
	eventually(t, "DownstreamSynced True at the root", func(ctx context.Context) (bool, string, error) {
		c, err := downstreamSynced(ctx)
		return c.Status == corev1.ConditionTrue, "levels:" + describeMachineChain(ctx, m), err
	})
	deleteAndWaitGone(t, "machine", m)
	assertNoOrphans(t)
}
