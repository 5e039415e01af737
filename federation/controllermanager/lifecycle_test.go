package controllermanager_test

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
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

	leaseKey := client.ObjectKey{Namespace: commonv1alpha1.PoolLeaseNamespace("MachinePool"), Name: "hb"}
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

// TestIronCoreVolumePoolHeartbeat: a VolumePool as IronCore's volumepoollet keeps it (state
// Available, no Ready condition, a Lease named after the pool in ironcore-volumepool-lease) is
// schedulable while the Lease is fresh, and monitored: it turns Ready=Unknown when the Lease lapses.
func TestIronCoreVolumePoolHeartbeat(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	e := startEnv(t, func(o *controllermanager.Options) { o.PoolMonitorGracePeriod = grace })
	ctx := t.Context()

	vp := &storagev1alpha1.VolumePool{ObjectMeta: metav1.ObjectMeta{Name: "ic"}}
	if err := e.client.Create(ctx, vp); err != nil {
		t.Fatal(err)
	}
	vp.Status = storagev1alpha1.VolumePoolStatus{
		State:                  storagev1alpha1.VolumePoolStateAvailable,
		AvailableVolumeClasses: []corev1.LocalObjectReference{{Name: "fast"}},
		Capacity:               commonv1alpha1.ResourceList{commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeVolumeClass, "fast"): resource.MustParse("100Gi")},
	}
	if err := e.client.Status().Update(ctx, vp); err != nil {
		t.Fatal(err)
	}
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ironcore-volumepool-lease", Name: "ic"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("ironcore-volumepoollet"), RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		return e.client.Create(ctx, lease) == nil, nil
	}); err != nil {
		t.Fatal("could not create the heartbeat Lease (namespace ironcore-volumepool-lease never created?)")
	}
	newVolume := func(name string) {
		t.Helper()
		v := &storagev1alpha1.Volume{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: storagev1alpha1.VolumeSpec{
				VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
				Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
			},
		}
		if err := e.client.Create(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	waitVolume := func(name, what string, cond func(*storagev1alpha1.Volume) bool) {
		t.Helper()
		v := &storagev1alpha1.Volume{}
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			return e.client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, v) == nil && cond(v), nil
		}); err != nil {
			t.Fatalf("volume %s: %s: timed out; spec.volumePoolRef=%v status=%+v", name, what, v.Spec.VolumePoolRef, v.Status)
		}
	}
	bound := func(v *storagev1alpha1.Volume) bool {
		return v.Spec.VolumePoolRef != nil && v.Spec.VolumePoolRef.Name == "ic"
	}

	// The volumepoollet renews its Lease until the test lets it lapse: with a 2 s grace one renewal
	// would expire while a loaded host schedules "before".
	renewing, renewed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(renewed)
		for {
			select {
			case <-renewing:
				return
			case <-time.After(500 * time.Millisecond):
			}
			l := &coordinationv1.Lease{}
			if e.client.Get(ctx, client.ObjectKeyFromObject(lease), l) == nil {
				l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
				_ = e.client.Update(ctx, l)
			}
		}
	}()
	newVolume("before")
	waitVolume("before", "bound to the pool without a Ready condition", bound)
	close(renewing)
	<-renewed

	// The Lease lapses: the monitor adds Ready=Unknown and the pool stops taking volumes.
	p := &storagev1alpha1.VolumePool{}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if e.client.Get(ctx, client.ObjectKey{Name: "ic"}, p) != nil {
			return false, nil
		}
		c, _ := conditions.Get(p.Status.Conditions, conditions.VolumePool, commonv1alpha1.ConditionTypeReady)
		return c.Status == corev1.ConditionUnknown && c.Reason == commonv1alpha1.ReasonHeartbeatExpired, nil
	}); err != nil {
		t.Fatalf("pool never turned Ready=Unknown/HeartbeatExpired: %+v", p.Status)
	}
	newVolume("during")
	waitVolume("during", "unschedulable", func(v *storagev1alpha1.Volume) bool {
		c, ok := conditions.Get(v.Status.Conditions, conditions.Volume, commonv1alpha1.ConditionTypeScheduled)
		return ok && c.Status == corev1.ConditionFalse && v.Spec.VolumePoolRef == nil
	})

	if err := e.client.Get(ctx, client.ObjectKeyFromObject(lease), lease); err != nil {
		t.Fatal(err)
	}
	lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	if err := e.client.Update(ctx, lease); err != nil {
		t.Fatal(err)
	}
	waitVolume("during", "bound after the heartbeat resumed", bound)
}
