package controllermanager_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/scheduler"
)

// TestScheduledTurnsTrueDespiteConcurrentWriters: machines first found no pool (Scheduled=False).
// One is then bound by hand; the others are bound by the scheduler once a pool fits, while
// something else writes each object at once, as a poollet does right after a bind. Every
// condition must end True: a False one left behind tells the levels above that the machine
// cannot be placed (found by the e2e suite, where the poollet's write made the condition update
// fail with a conflict that nobody retried).
func TestScheduledTurnsTrueDespiteConcurrentWriters(t *testing.T) {
	e := startEnv(t, nil)
	ctx := t.Context()
	e.createMachinePool(t, poolSpec{name: "late", ready: corev1.ConditionFalse, capacity: map[string]int64{"small": 50}})
	const n = 20
	for i := range n {
		if err := e.client.Create(ctx, newMachine(name(i), "small", nil)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		e.waitMachine(t, name(i), "Scheduled=False first", unschedulable)
	}
	// Deterministic: an operator binds one by hand; the scheduler never binds it, yet the stale
	// False must go.
	byHand := &computev1alpha1.Machine{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name(0)}, byHand); err != nil {
		t.Fatal(err)
	}
	orig := byHand.DeepCopy()
	byHand.Spec.MachinePoolRef = &commonv1alpha1.LocalObjectReference{Name: "late"}
	if err := e.client.Patch(ctx, byHand, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	e.waitMachine(t, name(0), "bound by hand and Scheduled=True", func(m *computev1alpha1.Machine) bool {
		c, _ := conditions.Get(m.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeScheduled)
		return c.Status == corev1.ConditionTrue
	})
	// The "poollet": label every machine as soon as it is seen bound, racing the condition update.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var writes atomic.Int64
	go func() {
		for wctx.Err() == nil {
			for i := range n {
				m := &computev1alpha1.Machine{}
				if e.client.Get(wctx, client.ObjectKey{Namespace: "default", Name: name(i)}, m) != nil || m.Spec.MachinePoolRef == nil || m.Labels["poollet"] == "seen" {
					continue
				}
				orig := m.DeepCopy()
				m.Labels = map[string]string{"poollet": "seen"}
				if e.client.Patch(wctx, m, client.MergeFrom(orig)) == nil {
					writes.Add(1)
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	e.setMachinePoolStatus(t, "late", corev1.ConditionTrue, map[string]int64{"small": 50}, map[string]int64{"small": 50})
	for i := range n {
		e.waitMachine(t, name(i), "bound and Scheduled=True", func(m *computev1alpha1.Machine) bool {
			c, _ := conditions.Get(m.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeScheduled)
			return boundTo("late")(m) && c.Status == corev1.ConditionTrue
		})
	}
	t.Logf("%d concurrent writes raced the condition updates", writes.Load())
}

func name(i int) string { return "racy-" + string(rune('a'+i)) }

// TestBoundToMissingPool: a Machine created bound to a pool that does not exist would wait
// forever with no condition and no event (found by the probe). The scheduler says so, and clears
// it once the pool appears.
func TestBoundToMissingPool(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := t.Context()
	m := newMachine("orphan", "small", nil)
	m.Spec.MachinePoolRef = &commonv1alpha1.LocalObjectReference{Name: "ghost"}
	if err := e.client.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	e.waitMachine(t, "orphan", "Scheduled=False PoolNotFound", func(m *computev1alpha1.Machine) bool {
		c, _ := conditions.Get(m.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeScheduled)
		return c.Status == corev1.ConditionFalse && c.Reason == scheduler.ReasonPoolNotFound &&
			c.Message == "Bound to MachinePool ghost, which does not exist: create it or delete this Machine"
	})
	e.createMachinePool(t, poolSpec{name: "ghost", ready: corev1.ConditionTrue, capacity: map[string]int64{"small": 1}})
	e.waitMachine(t, "orphan", "Scheduled=True once the pool exists", func(m *computev1alpha1.Machine) bool {
		c, _ := conditions.Get(m.Status.Conditions, conditions.Machine, commonv1alpha1.ConditionTypeScheduled)
		return c.Status == corev1.ConditionTrue
	})
}

// TestBucketWithoutClass: a Bucket without a class waited with no condition and no event (found
// by the probe). The scheduler says why, once: Scheduled=False/NoClass and a Warning event.
func TestBucketWithoutClass(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := t.Context()
	b := &storagev1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "classless"}}
	if err := e.client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return false, err
		}
		c, _ := conditions.Get(b.Status.Conditions, conditions.Bucket, commonv1alpha1.ConditionTypeScheduled)
		return c.Status == corev1.ConditionFalse && c.Reason == scheduler.ReasonNoClass && strings.Contains(c.Message, "bucketClassRef"), nil
	})
	if err != nil {
		t.Fatalf("no Scheduled=False/NoClass on the class-less bucket: %v (conditions %+v)", err, b.Status.Conditions)
	}
	waitEvent(t, e, "classless", scheduler.ReasonNoClass, "no bucketClassRef")
	t.Logf("Scheduled=False %s: %s", scheduler.ReasonNoClass, b.Status.Conditions[0].Message)
}
