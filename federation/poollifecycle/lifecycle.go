// Package poollifecycle watches the heartbeat Leases that poollets renew and marks a pool whose
// heartbeat stopped as Ready=Unknown (HeartbeatExpired), so the schedulers stop choosing it; when
// the heartbeat comes back the pool is Ready again. Pools without a Lease are not monitored: they
// are managed by hand or by a poollet that predates heartbeats.
package poollifecycle

import (
	"context"
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
)

// Adapter teaches the controller one pool kind.
type Adapter[P client.Object] struct {
	// Kind is the pool kind ("MachinePool").
	Kind string
	New  func() P
	// Ready returns the pool's Ready condition.
	Ready func(P) (conditions.Condition, bool)
	// SetReady sets the Ready condition and the matching pool state (online or offline).
	SetReady func(P, conditions.Condition)
}

// Reconciler monitors the heartbeats of one pool kind.
type Reconciler[P client.Object] struct {
	Adapter Adapter[P]
	Client  client.Client
	// LeaseNamespace holds the heartbeat Leases, named after their pools (IronCore's layout:
	// commonv1alpha1.PoolLeaseNamespace of the kind).
	LeaseNamespace string
	// GracePeriod is how long after the last renewal a pool is still considered alive.
	GracePeriod time.Duration
	Recorder    events.EventRecorder
	// Now is replaceable in tests; default time.Now.
	Now func() time.Time
}

// SetupWithManager registers the controller, watching pools and their Leases.
func (r *Reconciler[P]) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(FieldManager(r.Adapter.Kind)).
		For(r.Adapter.New()).
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if o.GetNamespace() != r.LeaseNamespace {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: o.GetName()}}}
		})).
		Complete(r)
}

// Reconcile compares the pool's Lease with the grace period and flips Ready accordingly.
func (r *Reconciler[P]) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pool := r.Adapter.New()
	if err := r.Client.Get(ctx, req.NamespacedName, pool); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	lease := &coordinationv1.Lease{}
	leaseName := pool.GetName()
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.LeaseNamespace, Name: leaseName}, lease); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil // not monitored
		}
		return reconcile.Result{}, err
	}
	last := lease.CreationTimestamp.Time
	if lease.Spec.RenewTime != nil {
		last = lease.Spec.RenewTime.Time
	}
	now := r.Now()
	expiry := last.Add(r.GracePeriod)
	ready, _ := r.Adapter.Ready(pool)

	if now.After(expiry) {
		if ready.Status == corev1.ConditionUnknown && ready.Reason == commonv1alpha1.ReasonHeartbeatExpired {
			return reconcile.Result{}, nil
		}
		msg := fmt.Sprintf("No heartbeat from the poollet since %s (Lease %s/%s, grace period %s)",
			last.UTC().Format(time.RFC3339), r.LeaseNamespace, leaseName, r.GracePeriod)
		if err := r.setReady(ctx, pool, conditions.Condition{Type: commonv1alpha1.ConditionTypeReady,
			Status: corev1.ConditionUnknown, Reason: commonv1alpha1.ReasonHeartbeatExpired, Message: msg}); err != nil {
			return reconcile.Result{}, err
		}
		r.Recorder.Eventf(pool, nil, corev1.EventTypeWarning, commonv1alpha1.ReasonHeartbeatExpired, "MonitorHeartbeat", "%s", msg)
		return reconcile.Result{}, nil
	}

	if ready.Status == corev1.ConditionUnknown && ready.Reason == commonv1alpha1.ReasonHeartbeatExpired {
		msg := "The poollet's heartbeat resumed at " + last.UTC().Format(time.RFC3339)
		if err := r.setReady(ctx, pool, conditions.Condition{Type: commonv1alpha1.ConditionTypeReady,
			Status: corev1.ConditionTrue, Reason: commonv1alpha1.ReasonHeartbeatResumed, Message: msg}); err != nil {
			return reconcile.Result{}, err
		}
		r.Recorder.Eventf(pool, nil, corev1.EventTypeNormal, commonv1alpha1.ReasonHeartbeatResumed, "MonitorHeartbeat", "%s", msg)
	}
	// Look again just after the heartbeat would expire; a renewal re-triggers us earlier.
	return reconcile.Result{RequeueAfter: expiry.Sub(now) + 100*time.Millisecond}, nil
}

// OwnedStatus is what the lifecycle controller writes: only Ready and the state that goes with
// it. Both are shared with the pool's poollet, so the write is conditional: a view older than the
// poollet's last write loses (and is retried) instead of overwriting it.
var OwnedStatus = conditions.Owned{Fields: []string{"state"}, Conditions: conditions.Only(commonv1alpha1.ConditionTypeReady), Conditional: true}

// FieldManager is the lifecycle controller's server-side-apply field manager for a pool kind.
func FieldManager(poolKind string) string { return strings.ToLower(poolKind) + "-lifecycle" }

func (r *Reconciler[P]) setReady(ctx context.Context, pool P, c conditions.Condition) error {
	r.Adapter.SetReady(pool, c)
	return conditions.ApplyStatus(ctx, r.Client, pool, FieldManager(r.Adapter.Kind), OwnedStatus)
}
