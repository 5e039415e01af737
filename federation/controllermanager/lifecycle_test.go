package controllermanager_test

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	"github.com/ironfed/ironfed/federation/controllermanager"
)

// TestPoolHeartbeat: a silent heartbeat turns the pool Ready=Unknown, the scheduler skips it,
// and a renewed heartbeat brings it back.
func TestPoolHeartbeat(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	e := startEnv(t, func(o *controllermanager.Options) { o.PoolMonitorGracePeriod = grace })
	ctx := t.Context()
	e.createMachinePool(t, poolSpec{name: "hb", ready: corev1.ConditionTrue, capacity: map[string]int64{"small": 10}})

	leaseKey := client.ObjectKey{Namespace: commonv1alpha1.DefaultPoolLeaseNamespace, Name: commonv1alpha1.PoolLeaseName("MachinePool", "hb")}
	// The controller-manager creates the Lease namespace; a poollet then writes its Lease there.
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: leaseKey.Namespace, Name: leaseKey.Name},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To("test-poollet"), LeaseDurationSeconds: ptr.To[int32](2),
			RenewTime: &metav1.MicroTime{Time: time.Now()},
		},
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		return e.client.Create(ctx, lease) == nil, nil
	}); err != nil {
		t.Fatal("could not create the heartbeat Lease (namespace never created?)")
	}

	if err := e.client.Create(ctx, newMachine("before", "small", nil)); err != nil {
		t.Fatal(err)
	}
	e.waitMachine(t, "before", "bound to hb", boundTo("hb"))

	// Stop renewing: the pool must turn Unknown with the reason, and go Offline.
	pool := waitPool(t, e, "hb", "Ready=Unknown/HeartbeatExpired", func(p *computev1alpha1.MachinePool) bool {
		c, _ := conditions.Get(p.Status.Conditions, conditions.MachinePool, commonv1alpha1.ConditionTypeReady)
		return c.Status == corev1.ConditionUnknown && c.Reason == commonv1alpha1.ReasonHeartbeatExpired
	})
	if pool.Status.State != computev1alpha1.MachinePoolStateOffline {
		t.Errorf("expired pool state %q, want Offline", pool.Status.State)
	}
	waitEvent(t, e, "hb", commonv1alpha1.ReasonHeartbeatExpired, "No heartbeat")

	if err := e.client.Create(ctx, newMachine("during", "small", nil)); err != nil {
		t.Fatal(err)
	}
	m := e.waitMachine(t, "during", "unschedulable", unschedulable)
	if want := "0/1 pools fit: 1 not ready"; scheduledMessage(m) != "False/Unschedulable: "+want {
		t.Errorf("condition %q, want %q", scheduledMessage(m), want)
	}

	// Renew: the pool recovers and the waiting machine lands.
	if err := e.client.Get(ctx, leaseKey, lease); err != nil {
		t.Fatal(err)
	}
	lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	if err := e.client.Update(ctx, lease); err != nil {
		t.Fatal(err)
	}
	waitPool(t, e, "hb", "Ready=True/HeartbeatResumed", func(p *computev1alpha1.MachinePool) bool {
		c, _ := conditions.Get(p.Status.Conditions, conditions.MachinePool, commonv1alpha1.ConditionTypeReady)
		return c.Status == corev1.ConditionTrue && c.Reason == commonv1alpha1.ReasonHeartbeatResumed && p.Status.State == computev1alpha1.MachinePoolStateReady
	})
	e.waitMachine(t, "during", "bound to hb after recovery", boundTo("hb"))
}

func waitPool(t *testing.T, e *env, name, what string, cond func(*computev1alpha1.MachinePool) bool) *computev1alpha1.MachinePool {
	t.Helper()
	p := &computev1alpha1.MachinePool{}
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
			return false, nil
		}
		return cond(p), nil
	}); err != nil {
		t.Fatalf("pool %s: %s: timed out; status=%+v", name, what, p.Status)
	}
	return p
}
