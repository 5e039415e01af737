// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package volumepoollet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

// SnapshotFinalizer is upstream's volumepoollet finalizer of VolumeSnapshots.
const SnapshotFinalizer = storagev1alpha1.VolumeSnapshotPoolletFinalizer

// SnapshotPoolLabel names the VolumePool whose poollet took a VolumeSnapshot.
const SnapshotPoolLabel = storagev1alpha1.VolumeSnapshotPoolLabel

// Reasons of a VolumeSnapshot's PrerequisitesMet condition.
const (
	ReasonWaitingForVolume = "WaitingForVolume"
	// ReasonWaitingForVolumeSnapshot is a restoring Volume's reason.
	ReasonWaitingForVolumeSnapshot = "WaitingForVolumeSnapshot"
)

// snapshotPoll is how often a snapshot is looked at while the runtime takes it: snapshots have no
// IRI watch.
const snapshotPoll = time.Second

// snapshotReconciler takes the VolumeSnapshots of the pool's Volumes through the runtime.
type snapshotReconciler struct {
	client      client.Client
	rt          remote.VolumeRuntime
	pool        string
	runtimeName string
	relist      time.Duration
}

func (r *snapshotReconciler) setup(mgr manager.Manager, maxConcurrent int) error {
	// Snapshots by source Volume, so a Volume turning Available starts its pending snapshots.
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &storagev1alpha1.VolumeSnapshot{},
		storagev1alpha1.VolumeSnapshotVolumeRefNameField, func(o client.Object) []string {
			if ref := o.(*storagev1alpha1.VolumeSnapshot).Spec.VolumeRef; ref != nil {
				return []string{ref.Name}
			}
			return nil
		}); err != nil {
		return err
	}
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named("volumesnapshot").
		For(&storagev1alpha1.VolumeSnapshot{}).
		Watches(&storagev1alpha1.Volume{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			list := &storagev1alpha1.VolumeSnapshotList{}
			if err := c.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{storagev1alpha1.VolumeSnapshotVolumeRefNameField: o.GetName()}); err != nil {
				return nil
			}
			out := make([]reconcile.Request, 0, len(list.Items))
			for _, s := range list.Items {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
			}
			return out
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent}).
		Complete(r)
}

func (r *snapshotReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	s := &storagev1alpha1.VolumeSnapshot{}
	if err := r.client.Get(ctx, req.NamespacedName, s); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, r.collect(ctx, req.NamespacedName)
		}
		return reconcile.Result{}, err
	}
	mine, err := r.owns(ctx, s)
	if err != nil || !mine {
		return reconcile.Result{}, err
	}
	if !s.DeletionTimestamp.IsZero() {
		return r.delete(ctx, s)
	}
	if !controllerutil.ContainsFinalizer(s, SnapshotFinalizer) || s.Labels[SnapshotPoolLabel] != r.pool {
		orig := s.DeepCopy()
		controllerutil.AddFinalizer(s, SnapshotFinalizer)
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[SnapshotPoolLabel] = r.pool
		if err := r.client.Patch(ctx, s, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return reconcile.Result{}, err
		}
	}
	return r.reconcileNormal(ctx, s)
}

// owns reports whether the snapshot is this poollet's: labelled with its pool, or unlabelled
// with its source Volume on the pool (the Volume cache holds only the pool's).
func (r *snapshotReconciler) owns(ctx context.Context, s *storagev1alpha1.VolumeSnapshot) (bool, error) {
	if p, ok := s.Labels[SnapshotPoolLabel]; ok {
		return p == r.pool, nil
	}
	if s.Spec.VolumeRef == nil {
		return false, nil
	}
	v := &storagev1alpha1.Volume{}
	err := r.client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Spec.VolumeRef.Name}, v)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil && v.Spec.VolumePoolRef != nil && v.Spec.VolumePoolRef.Name == r.pool, err
}

func (r *snapshotReconciler) reconcileNormal(ctx context.Context, s *storagev1alpha1.VolumeSnapshot) (reconcile.Result, error) {
	orig := s.DeepCopy()
	existing, err := r.list(ctx, map[string]string{labels.VolumeSnapshotUIDLabel: string(s.UID)})
	if err != nil {
		return reconcile.Result{}, err
	}
	var actual *volumev1alpha1.VolumeSnapshot
	var waiting *core.Waiting
	var recErr error
	switch {
	case len(existing) > 0:
		actual = existing[0]
		// Two for one UID (a lost create response): keep the first.
		for _, dup := range existing[1:] {
			if err := r.deleteIRI(ctx, dup.GetMetadata().GetId()); err != nil {
				recErr = errors.Join(recErr, err)
			}
		}
	default:
		var volumeID string
		volumeID, waiting, err = r.sourceVolume(ctx, s)
		if err != nil {
			return reconcile.Result{}, err
		}
		if waiting != nil {
			break
		}
		res, err := r.rt.CreateVolumeSnapshot(ctx, &volumev1alpha1.CreateVolumeSnapshotRequest{VolumeSnapshot: &volumev1alpha1.VolumeSnapshot{
			Metadata: &metav1alpha1.ObjectMetadata{Labels: snapshotLabels(s)},
			Spec:     &volumev1alpha1.VolumeSnapshotSpec{VolumeId: volumeID},
		}})
		if err != nil {
			recErr = fmt.Errorf("create volume snapshot: %w", err)
			break
		}
		actual = res.GetVolumeSnapshot()
		log.FromContext(ctx).Info("Created IRI volume snapshot", "id", actual.GetMetadata().GetId())
	}
	setSnapshotCondition(s, prerequisites(waiting))
	switch {
	case recErr != nil:
		setSnapshotCondition(s, runtimeFailed(recErr))
	case waiting == nil:
		setSnapshotCondition(s, conditions.Condition{Type: core.ConditionRuntimeSynced, Status: corev1.ConditionTrue, Reason: core.ReasonSynced, Message: "The runtime holds the snapshot."})
	}
	if actual != nil {
		r.applyStatus(s, actual)
	} else if s.Status.State == "" {
		s.Status.State, s.Status.LastStateTransitionTime = storagev1alpha1.VolumeSnapshotStatePending, ptrNow()
	}
	if err := r.patchStatus(ctx, orig, s); err != nil {
		recErr = errors.Join(recErr, err)
	}
	if recErr != nil {
		return reconcile.Result{}, recErr
	}
	switch {
	case waiting != nil:
		return reconcile.Result{}, nil // the Volume's change brings us back
	case s.Status.State == storagev1alpha1.VolumeSnapshotStatePending:
		return reconcile.Result{RequeueAfter: snapshotPoll}, nil
	}
	return reconcile.Result{RequeueAfter: r.relist}, nil
}

// sourceVolume returns the IRI id of the snapshot's Volume, or what the snapshot waits for.
func (r *snapshotReconciler) sourceVolume(ctx context.Context, s *storagev1alpha1.VolumeSnapshot) (string, *core.Waiting, error) {
	if s.Spec.VolumeRef == nil {
		return "", &core.Waiting{Reason: ReasonWaitingForVolume, Message: "Waiting: spec.volumeRef is not set"}, nil
	}
	v := &storagev1alpha1.Volume{}
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Spec.VolumeRef.Name}, v); err != nil {
		if apierrors.IsNotFound(err) {
			return "", &core.Waiting{Reason: ReasonWaitingForVolume, Message: fmt.Sprintf("Waiting: Volume %s does not exist on pool %s", s.Spec.VolumeRef.Name, r.pool)}, nil
		}
		return "", nil, err
	}
	id, ok := strings.CutPrefix(v.Status.VolumeID, r.runtimeName+"://")
	if v.Status.State != storagev1alpha1.VolumeStateAvailable || !ok || id == "" {
		return "", &core.Waiting{Reason: ReasonWaitingForVolume, Message: fmt.Sprintf("Waiting: Volume %s is not Available (state %q)", v.Name, v.Status.State)}, nil
	}
	return id, nil, nil
}

// snapshotLabels are the IRI labels of s: its identity and the root's (downward API), copied
// when a broker created s.
func snapshotLabels(s *storagev1alpha1.VolumeSnapshot) map[string]string {
	k := labels.VolumeSnapshot
	out := map[string]string{
		labels.VolumeSnapshotUIDLabel:       string(s.UID),
		labels.VolumeSnapshotNamespaceLabel: s.Namespace,
		labels.VolumeSnapshotNameLabel:      s.Name,
	}
	copied := false
	for key, v := range s.Labels {
		if strings.HasPrefix(key, labels.VolumeSnapshotDownwardAPIPrefix) {
			out[key], copied = v, true
		}
	}
	if !copied {
		out[labels.DownwardAPILabel(k, "root-volume-snapshot-uid")] = string(s.UID)
		out[labels.DownwardAPILabel(k, "root-volume-snapshot-namespace")] = s.Namespace
		out[labels.DownwardAPILabel(k, "root-volume-snapshot-name")] = s.Name
	}
	return out
}

var snapshotStates = map[volumev1alpha1.VolumeSnapshotState]storagev1alpha1.VolumeSnapshotState{
	volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_PENDING: storagev1alpha1.VolumeSnapshotStatePending,
	volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_READY:   storagev1alpha1.VolumeSnapshotStateReady,
	volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_FAILED:  storagev1alpha1.VolumeSnapshotStateFailed,
}

func (r *snapshotReconciler) applyStatus(s *storagev1alpha1.VolumeSnapshot, actual *volumev1alpha1.VolumeSnapshot) {
	s.Status.SnapshotID = r.runtimeName + "://" + actual.GetMetadata().GetId()
	if st, ok := snapshotStates[actual.GetStatus().GetState()]; ok && st != s.Status.State {
		s.Status.State, s.Status.LastStateTransitionTime = st, ptrNow()
	}
	if n := actual.GetStatus().GetSize(); n > 0 {
		s.Status.Size = resource.NewQuantity(n, resource.BinarySI)
	}
}

func (r *snapshotReconciler) patchStatus(ctx context.Context, orig, s *storagev1alpha1.VolumeSnapshot) error {
	if statusEqual(orig, s) {
		return nil
	}
	return conditions.ApplyStatus(ctx, r.client, s, core.FieldManager(string(labels.Volume)), core.OwnedObjectStatus)
}

func (r *snapshotReconciler) delete(ctx context.Context, s *storagev1alpha1.VolumeSnapshot) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(s, SnapshotFinalizer) {
		return reconcile.Result{}, nil
	}
	existing, err := r.list(ctx, map[string]string{labels.VolumeSnapshotUIDLabel: string(s.UID)})
	if err != nil {
		return reconcile.Result{}, err
	}
	for _, o := range existing {
		if err := r.deleteIRI(ctx, o.GetMetadata().GetId()); err != nil {
			orig := s.DeepCopy()
			setSnapshotCondition(s, runtimeFailed(err))
			_ = r.patchStatus(ctx, orig, s) // say why deletion is stuck; the error retries
			return reconcile.Result{}, err
		}
	}
	if len(existing) > 0 {
		return reconcile.Result{RequeueAfter: snapshotPoll}, nil // no IRI watch tells us it is gone
	}
	orig := s.DeepCopy()
	controllerutil.RemoveFinalizer(s, SnapshotFinalizer)
	if err := r.client.Patch(ctx, s, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, nil
}

// collect deletes the IRI snapshots of a VolumeSnapshot that is gone (deleted without its
// finalizer, e.g. while no poollet ran).
func (r *snapshotReconciler) collect(ctx context.Context, key types.NamespacedName) error {
	orphans, err := r.list(ctx, map[string]string{labels.VolumeSnapshotNamespaceLabel: key.Namespace, labels.VolumeSnapshotNameLabel: key.Name})
	if err != nil || len(orphans) == 0 {
		return err
	}
	live := &storagev1alpha1.VolumeSnapshot{}
	err = r.client.Get(ctx, key, live)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for _, o := range orphans {
		if err == nil && o.GetMetadata().GetLabels()[labels.VolumeSnapshotUIDLabel] == string(live.UID) {
			continue
		}
		log.FromContext(ctx).Info("Deleting orphaned IRI volume snapshot", "id", o.GetMetadata().GetId())
		if err := r.deleteIRI(ctx, o.GetMetadata().GetId()); err != nil {
			return err
		}
	}
	return nil
}

func (r *snapshotReconciler) list(ctx context.Context, sel map[string]string) ([]*volumev1alpha1.VolumeSnapshot, error) {
	res, err := r.rt.ListVolumeSnapshots(ctx, &volumev1alpha1.ListVolumeSnapshotsRequest{Filter: &volumev1alpha1.VolumeSnapshotFilter{LabelSelector: sel}})
	if err != nil {
		return nil, fmt.Errorf("list volume snapshots: %w", err)
	}
	return res.GetVolumeSnapshots(), nil
}

func (r *snapshotReconciler) deleteIRI(ctx context.Context, id string) error {
	if _, err := r.rt.DeleteVolumeSnapshot(ctx, &volumev1alpha1.DeleteVolumeSnapshotRequest{VolumeSnapshotId: id}); err != nil && status.Code(err) != codes.NotFound {
		return fmt.Errorf("delete volume snapshot %s: %w", id, err)
	}
	return nil
}

func setSnapshotCondition(s *storagev1alpha1.VolumeSnapshot, c conditions.Condition) {
	s.Status.Conditions, _ = conditions.Set(s.Status.Conditions, conditions.VolumeSnapshot, c)
}

func prerequisites(w *core.Waiting) conditions.Condition {
	if w != nil {
		return conditions.Condition{Type: core.ConditionPrerequisitesMet, Status: corev1.ConditionFalse, Reason: w.Reason, Message: w.Message}
	}
	return conditions.Condition{Type: core.ConditionPrerequisitesMet, Status: corev1.ConditionTrue, Reason: "PrerequisitesMet", Message: "The source volume is available."}
}

// runtimeFailed is RuntimeSynced=False for a failed runtime call, reasoned like the core's.
func runtimeFailed(err error) conditions.Condition {
	reason := core.ReasonRuntimeError
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		reason = core.ReasonRuntimeUnavailable
	case codes.InvalidArgument, codes.FailedPrecondition, codes.ResourceExhausted, codes.NotFound, codes.AlreadyExists:
		reason = core.ReasonRuntimeRejected
	}
	return conditions.Condition{Type: core.ConditionRuntimeSynced, Status: corev1.ConditionFalse, Reason: reason, Message: err.Error()}
}

func statusEqual(a, b *storagev1alpha1.VolumeSnapshot) bool {
	return equality.Semantic.DeepEqual(a.Status, b.Status)
}
