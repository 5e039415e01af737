// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package volumeclaim makes a Volume's use exclusive, with IronCore's claimRef semantics: a
// Volume referenced by Machines is claimed (spec.claimRef) by one of them, the oldest; the
// machinepoollet attaches a claimable Volume only to its claimer, so two Machines never write to
// one disk. A claim whose Machine is gone or no longer refers to the Volume is released and
// passed on. Unclaimable Volumes are never claimed.
package volumeclaim

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
)

// indexVolumeRef indexes Machines by the names of the Volumes they refer to (volumeRef).
const indexVolumeRef = "ironfed.volumeclaim.volumeRefs"

// ReasonVolumeClaimed is the Warning event on a Machine whose Volume another Machine claims.
const ReasonVolumeClaimed = "VolumeClaimed"

// Reconciler claims Volumes for the Machines that refer to them.
type Reconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
}

// SetupWithManager registers the controller: Volumes, and Machines mapped to the Volumes they
// refer to (a deleted Machine's last state too, so its claims are passed on).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &computev1alpha1.Machine{}, indexVolumeRef, func(o client.Object) []string {
		return volumeRefs(o.(*computev1alpha1.Machine))
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("volume-claim").
		For(&storagev1alpha1.Volume{}).
		Watches(&computev1alpha1.Machine{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			var out []reconcile.Request
			for _, name := range volumeRefs(o.(*computev1alpha1.Machine)) {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}})
			}
			return out
		}), builder.WithPredicates(app.FieldsChanged(func(m *computev1alpha1.Machine) any { return m.Spec.Volumes }))). // volume changes, creates, deletes; not a bind
		Complete(r)
}

// volumeRefs are the Volumes m uses: referenced ones and its ephemeral <machine>-<name> ones
// (claimed at creation by the machinepoollet; listed so the claim is kept).
func volumeRefs(m *computev1alpha1.Machine) []string {
	var out []string
	for _, v := range m.Spec.Volumes {
		switch {
		case v.VolumeRef != nil && v.VolumeRef.Name != "":
			out = append(out, v.VolumeRef.Name)
		case v.Ephemeral != nil:
			out = append(out, m.Name+"-"+v.Name)
		}
	}
	return out
}

// Reconcile keeps the Volume claimed by a live Machine that refers to it, if any does.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	vol := &storagev1alpha1.Volume{}
	if err := r.Client.Get(ctx, req.NamespacedName, vol); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if vol.Spec.Unclaimable || !vol.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	list := &computev1alpha1.MachineList{}
	if err := r.Client.List(ctx, list, client.InNamespace(vol.Namespace), client.MatchingFields{indexVolumeRef: vol.Name}); err != nil {
		return reconcile.Result{}, err
	}
	referrers := slices.DeleteFunc(list.Items, func(m computev1alpha1.Machine) bool { return !m.DeletionTimestamp.IsZero() })
	slices.SortFunc(referrers, func(a, b computev1alpha1.Machine) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	claim := vol.Spec.ClaimRef
	holder := -1
	if claim != nil {
		holder = slices.IndexFunc(referrers, func(m computev1alpha1.Machine) bool { return m.UID == claim.UID })
		if holder < 0 && !r.claimerGone(ctx, vol, claim) {
			return reconcile.Result{}, nil // claimed by something else than a Machine of ours: leave it
		}
	}
	switch {
	case holder >= 0:
		// Claimed by a live referrer: keep it.
	case len(referrers) == 0 && claim == nil:
		return reconcile.Result{}, nil
	default:
		// Unclaimed, or the claimer is gone or no longer refers to the volume: pass it on (or
		// release it). The resourceVersion precondition lets only one writer win.
		orig := vol.DeepCopy()
		vol.Spec.ClaimRef = nil
		if len(referrers) > 0 {
			ref := commonv1alpha1.LocalUIDReferenceTo(&referrers[0])
			vol.Spec.ClaimRef, holder = &ref, 0
		}
		if err := r.Client.Patch(ctx, vol, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return reconcile.Result{}, err
		}
		if holder < 0 {
			return reconcile.Result{}, nil
		}
	}
	for i := range referrers {
		if i != holder {
			r.Recorder.Eventf(&referrers[i], vol, corev1.EventTypeWarning, ReasonVolumeClaimed, "ClaimVolume",
				"Volume %s is claimed by Machine %s: a volume is attached to one machine at a time", vol.Name, referrers[holder].Name)
		}
	}
	return reconcile.Result{}, nil
}

// claimerGone reports whether the claim names a Machine that no longer exists (or exists with
// another UID). A claim by any other kind of object is not ours to release.
func (r *Reconciler) claimerGone(ctx context.Context, vol *storagev1alpha1.Volume, claim *commonv1alpha1.LocalUIDReference) bool {
	m := &computev1alpha1.Machine{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: vol.Namespace, Name: claim.Name}, m)
	if err != nil {
		return client.IgnoreNotFound(err) == nil
	}
	return m.UID != claim.UID || !slices.Contains(volumeRefs(m), vol.Name)
}
