// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	"github.com/ironfed/ironfed/iri/remote"
)

// ReasonRuntimeUnreachable is the reason of a pool's Ready=Unknown while its runtime fails.
const (
	ReasonRuntimeUnreachable = "RuntimeUnreachable"
	ReasonRuntimeReady       = "RuntimeReady"
)

// ClassQuantity is one class the runtime offers and its total capacity.
type ClassQuantity struct {
	Name     string
	Quantity int64
}

// PoolAdapter is what the announcer needs to know about one pool kind.
type PoolAdapter interface {
	// PoolKind is "MachinePool", "VolumePool" or "BucketPool".
	PoolKind() string
	ClassType() commonv1alpha1.ClassType
	NewPool() client.Object
	// ClassExists reports whether a Class object of that name exists.
	ClassExists(ctx context.Context, c client.Reader, name string) (bool, error)
	// RuntimeClasses asks the runtime (Status or ListBucketClasses).
	RuntimeClasses(ctx context.Context) ([]ClassQuantity, error)
	// Usage sums what is bound to the pool per class, from the pool-scoped cache.
	Usage(ctx context.Context, c client.Reader) (map[string]int64, error)
	// SetStatus writes classes, capacity, allocatable and the Ready condition into pool.
	SetStatus(pool client.Object, classes []string, capacity, allocatable commonv1alpha1.ResourceList, ready conditions.Condition)
}

// Announcer creates the pool, keeps its status current and renews its heartbeat Lease.
type Announcer struct {
	Adapter   PoolAdapter
	Client    client.Client
	APIReader client.Reader
	Pool      PoolOptions
	Runtime   RuntimeOptions
	// WatcherStatus reports the runtime connection.
	WatcherStatus func() remote.WatcherStatus

	nudge chan struct{}
	// onRecovered runs when a refresh finds the runtime answering after a failed refresh or a
	// failing runtime.
	onRecovered func(context.Context)
	// failed: a refresh failed, or a reconcile found the runtime unavailable (RuntimeFailed).
	failed atomic.Bool
	// statusFailingSince is when the runtime's class query started failing; zero when healthy.
	statusFailingSince time.Time
}

// RuntimeFailed records that a call to the runtime failed Unavailable: the next refresh that
// finds the runtime answering retries the objects that failed (onRecovered). A broker fails fast
// while its circuit breaker toward a restarting cluster is open, and its Status keeps answering
// through such a short outage, so without this they waited out their backoff (up to
// --max-retry-delay) after the downstream was back.
func (a *Announcer) RuntimeFailed() { a.failed.Store(true) }

// Nudge asks for a prompt status refresh (bound objects changed); it never blocks.
func (a *Announcer) Nudge() {
	select {
	case a.nudge <- struct{}{}:
	default:
	}
}

func (a *Announcer) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("pool").WithValues("pool", a.Pool.Name)
	ctx = log.IntoContext(ctx, logger)
	status := time.NewTicker(a.Pool.StatusPeriod)
	defer status.Stop()
	var lastRefresh time.Time
	refresh := func() {
		lastRefresh = time.Now()
		if err := a.refresh(ctx); err != nil {
			a.failed.Store(true) // the apiserver, say: objects failed meanwhile too
			logger.Error(err, "Refreshing pool status")
		}
	}
	refresh()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-status.C:
			refresh()
		case <-a.nudge:
			// Coalesce bursts of bound-object changes.
			if wait := 200*time.Millisecond - time.Since(lastRefresh); wait > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(wait):
				}
			}
			refresh()
		}
	}
}

// refreshTimeout bounds one status refresh (the runtime's Status has its own call timeout; this
// covers the apiserver requests around it), so a hung request never stalls the announcer.
const refreshTimeout = time.Minute

func (a *Announcer) refresh(ctx context.Context) error {
	parent := ctx // outlives this refresh: onRecovered's enqueueing may take longer
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	pool := a.Adapter.NewPool()
	if err := a.Client.Get(ctx, client.ObjectKey{Name: a.Pool.Name}, pool); err != nil {
		if !apierrors.IsNotFound(err) {
			return err
		}
		pool = a.Adapter.NewPool()
		pool.SetName(a.Pool.Name)
		pool.SetLabels(a.Pool.Labels)
		if err := a.Client.Create(ctx, pool); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create pool: %w", err)
		}
		if err := a.APIReader.Get(ctx, client.ObjectKey{Name: a.Pool.Name}, pool); err != nil {
			return err
		}
	}
	orig := pool.DeepCopyObject().(client.Object)
	ready := conditions.Condition{Type: commonv1alpha1.ConditionTypeReady, Status: corev1.ConditionTrue, Reason: ReasonRuntimeReady, Message: "The runtime is reachable and synced."}
	var classes []string
	capacity, allocatable := commonv1alpha1.ResourceList{}, commonv1alpha1.ResourceList{}
	// A runtime slower than the status period is failing for the pool's purposes: bound the call
	// by it, so a hanging runtime turns the pool Unknown after --relist-threshold, not after the
	// client's (longer) call timeout.
	rtCtx, rtCancel := context.WithTimeout(ctx, max(a.Pool.StatusPeriod, time.Second))
	runtimeClasses, rtErr := a.Adapter.RuntimeClasses(rtCtx)
	rtCancel()
	if rtErr == nil {
		a.statusFailingSince = time.Time{}
	} else if a.statusFailingSince.IsZero() {
		a.statusFailingSince = time.Now()
	}
	ws := a.WatcherStatus()
	if ws.Err != nil || rtErr != nil {
		a.failed.Store(true)
	} else if ws.Synced && a.failed.CompareAndSwap(true, false) {
		if a.onRecovered != nil {
			a.onRecovered(parent)
		}
	}
	switch {
	case ws.Err != nil && time.Since(ws.FailingSince) >= a.Runtime.RelistThreshold:
		ready = unreachable(fmt.Sprintf("The runtime has been failing since %s: %v", ws.FailingSince.UTC().Format(time.RFC3339), ws.Err))
	case rtErr != nil && time.Since(a.statusFailingSince) >= a.Runtime.RelistThreshold:
		ready = unreachable(fmt.Sprintf("Reading the runtime's classes has been failing since %s: %v", a.statusFailingSince.UTC().Format(time.RFC3339), rtErr))
	case ws.Err != nil || rtErr != nil:
		// A short blip: keep the pool as it is until the threshold passes.
		return nil
	case !ws.Synced:
		ready = unreachable("The runtime has not been listed yet.")
	}
	if rtErr != nil {
		// Keep the last known classes and capacity rather than announcing an empty pool.
		a.Adapter.SetStatus(pool, nil, nil, nil, ready)
		return a.patch(ctx, orig, pool)
	}
	used, err := a.Adapter.Usage(ctx, a.Client)
	if err != nil {
		return err
	}
	for _, c := range runtimeClasses {
		ok, err := a.Adapter.ClassExists(ctx, a.Client, c.Name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		classes = append(classes, c.Name)
		name := commonv1alpha1.ClassCountFor(a.Adapter.ClassType(), c.Name)
		capacity[name] = *resource.NewQuantity(c.Quantity, resource.BinarySI)
		allocatable[name] = *resource.NewQuantity(max(c.Quantity-used[c.Name], 0), resource.BinarySI)
	}
	a.Adapter.SetStatus(pool, classes, capacity, allocatable, ready)
	return a.patch(ctx, orig, pool)
}

func (a *Announcer) patch(ctx context.Context, orig, pool client.Object) error {
	if equality.Semantic.DeepEqual(statusOf(orig), statusOf(pool)) {
		return nil
	}
	return conditions.ApplyStatus(ctx, a.Client, pool, FieldManager(strings.TrimSuffix(a.Adapter.PoolKind(), "Pool")), OwnedPoolStatus)
}

// Heartbeat renews the pool's Lease in a loop of its own, as kubelet's node lease does: a
// runtime that hangs, or a slow status write, never delays it, so a live poollet never looks dead.
// Runtime health is the Announcer's business (Ready=Unknown/RuntimeUnreachable).
type Heartbeat struct {
	Client    client.Client
	APIReader client.Reader
	PoolKind  string
	Pool      PoolOptions
}

// Start renews every HeartbeatInterval; each renewal is bounded by the interval, and a failed one
// is retried sooner (200ms doubling up to the interval), so the Lease is fresh again soon after
// the apiserver answers.
func (h *Heartbeat) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("heartbeat").WithValues("pool", h.Pool.Name)
	retry := 200 * time.Millisecond
	for {
		callCtx, cancel := context.WithTimeout(ctx, h.Pool.HeartbeatInterval)
		err := h.renew(callCtx)
		cancel()
		next := h.Pool.HeartbeatInterval
		if err != nil && ctx.Err() == nil {
			logger.Error(err, "Renewing heartbeat Lease failed; retrying", "in", retry)
			next, retry = retry, min(2*retry, h.Pool.HeartbeatInterval)
		} else {
			retry = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(next):
		}
	}
}

func (h *Heartbeat) renew(ctx context.Context) error {
	key := client.ObjectKey{Namespace: h.Pool.LeaseNamespace, Name: h.Pool.Name}
	if key.Namespace == "" {
		key.Namespace = commonv1alpha1.PoolLeaseNamespace(h.PoolKind)
	}
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{}
	err := h.APIReader.Get(ctx, key, lease)
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(h.Pool.Name),
				LeaseDurationSeconds: ptr.To(int32(h.Pool.HeartbeatLeaseDuration / time.Second)),
				AcquireTime:          &now, RenewTime: &now,
			},
		}
		err = h.Client.Create(ctx, lease)
		if apierrors.IsNotFound(err) { // the namespace is missing: the controller-manager makes it, but we may be first
			if err = h.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: key.Namespace}}); err == nil || apierrors.IsAlreadyExists(err) {
				lease.ResourceVersion = ""
				err = h.Client.Create(ctx, lease)
			}
		}
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	lease.Spec.LeaseDurationSeconds = ptr.To(int32(h.Pool.HeartbeatLeaseDuration / time.Second))
	return h.Client.Update(ctx, lease)
}

func unreachable(msg string) conditions.Condition {
	return conditions.Condition{Type: commonv1alpha1.ConditionTypeReady, Status: corev1.ConditionUnknown, Reason: ReasonRuntimeUnreachable, Message: msg}
}

// ClassExists reports whether the cluster-scoped class named name exists, for PoolAdapters:
// obj is an empty object of the class kind.
func ClassExists(ctx context.Context, c client.Reader, obj client.Object, name string) (bool, error) {
	err := c.Get(ctx, client.ObjectKey{Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
