// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

// notSyncedRetry is how long a reconcile waits for the Watcher's first list: creating before
// it would duplicate objects that exist but are not known yet.
const notSyncedRetry = time.Second

// Reconciler materialises the objects bound to the pool through the IRI.
type Reconciler[K client.Object, I remote.Object] struct {
	Adapter     Adapter[K, I]
	Client      client.Client
	APIReader   client.Reader
	RuntimeName string
	index       *index[I]
	watcher     *remote.Watcher[I]
	nudge       func()
}

func (r *Reconciler[K, I]) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if !r.watcher.Status().Synced {
		return reconcile.Result{RequeueAfter: notSyncedRetry}, nil
	}
	obj := r.Adapter.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, r.collect(ctx, req)
		}
		return reconcile.Result{}, err
	}
	if r.nudge != nil {
		r.nudge()
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return r.delete(ctx, obj)
	}
	if !controllerutil.ContainsFinalizer(obj, r.Adapter.Finalizer()) {
		orig := obj.DeepCopyObject().(K)
		controllerutil.AddFinalizer(obj, r.Adapter.Finalizer())
		if err := r.Client.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return reconcile.Result{}, err
		}
	}
	return r.reconcileNormal(ctx, obj)
}

func (r *Reconciler[K, I]) reconcileNormal(ctx context.Context, obj K) (reconcile.Result, error) {
	orig := obj.DeepCopyObject().(K)
	existing := r.index.forUID(string(obj.GetUID()))
	if len(existing) > 1 {
		// Two IRI objects for one UID (a lost create response upstream): keep the oldest.
		for _, dup := range existing[1:] {
			log.FromContext(ctx).Info("Deleting duplicate IRI object", "id", dup.GetMetadata().GetId())
			if err := r.Adapter.Delete(ctx, dup.GetMetadata().GetId()); err != nil && status.Code(err) != codes.NotFound {
				return reconcile.Result{}, err
			}
		}
	}
	desired, waiting, err := r.Adapter.Prepare(ctx, r.Client, obj)
	if err != nil {
		return reconcile.Result{}, err
	}
	r.Adapter.SetPrerequisites(obj, waiting)
	var actual I
	var recErr error
	switch {
	case len(existing) > 0:
		actual = existing[0]
		if waiting == nil {
			recErr = r.update(ctx, obj, desired, actual)
		}
	case waiting == nil:
		md := desired.GetMetadata()
		md.Labels = r.labelsFor(obj)
		md.Annotations = map[string]string{generationAnnotation(r.Adapter.Kind()): strconv.FormatInt(obj.GetGeneration(), 10)}
		actual, recErr = r.Adapter.Create(ctx, desired)
		if recErr == nil {
			r.index.remember(string(obj.GetUID()), actual)
			log.FromContext(ctx).Info("Created IRI object", "id", actual.GetMetadata().GetId())
		}
	}
	var zero I
	if actual != zero {
		observed := r.Adapter.ObservedCurrent(actual)
		if err := r.Adapter.ApplyStatus(ctx, r.Client, obj, actual, r.RuntimeName, observed); err != nil {
			recErr = errors.Join(recErr, err)
		}
	}
	if err := r.patchStatus(ctx, orig, obj); err != nil {
		recErr = errors.Join(recErr, err)
	}
	return reconcile.Result{}, recErr
}

// update applies spec changes and then records which Kubernetes generation the IRI object now
// reflects, so status is copied back only once the runtime observed it.
func (r *Reconciler[K, I]) update(ctx context.Context, obj K, desired, actual I) error {
	changed, err := r.Adapter.Update(ctx, obj, desired, actual)
	if err != nil {
		return err
	}
	gen := strconv.FormatInt(obj.GetGeneration(), 10)
	key := generationAnnotation(r.Adapter.Kind())
	ann := actual.GetMetadata().GetAnnotations()
	if !changed && ann[key] == gen {
		return nil
	}
	next := maps.Clone(ann)
	if next == nil {
		next = map[string]string{}
	}
	next[key] = gen
	return r.Adapter.SetAnnotations(ctx, actual.GetMetadata().GetId(), next)
}

func (r *Reconciler[K, I]) patchStatus(ctx context.Context, orig, obj K) error {
	if equality.Semantic.DeepEqual(statusOf(orig), statusOf(obj)) {
		return nil
	}
	return r.Client.Status().Patch(ctx, obj, client.MergeFrom(orig))
}

func (r *Reconciler[K, I]) delete(ctx context.Context, obj K) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, r.Adapter.Finalizer()) {
		return reconcile.Result{}, nil
	}
	existing := r.index.forUID(string(obj.GetUID()))
	for _, o := range existing {
		if o.GetMetadata().GetDeletedAt() != 0 {
			continue // already being deleted
		}
		if err := r.Adapter.Delete(ctx, o.GetMetadata().GetId()); err != nil && status.Code(err) != codes.NotFound {
			return reconcile.Result{}, fmt.Errorf("delete IRI object %s: %w", o.GetMetadata().GetId(), err)
		}
	}
	if len(existing) > 0 {
		// The Watcher's Deleted event brings us back; the requeue only guards a lost event.
		log.FromContext(ctx).V(1).Info("Waiting for the IRI object to be gone", "count", len(existing))
		return reconcile.Result{RequeueAfter: 10 * time.Second}, nil
	}
	orig := obj.DeepCopyObject().(K)
	controllerutil.RemoveFinalizer(obj, r.Adapter.Finalizer())
	if err := r.Client.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, nil
}

// collect deletes IRI objects whose Kubernetes object is gone. The cache may lag, so a live GET
// decides.
func (r *Reconciler[K, I]) collect(ctx context.Context, req reconcile.Request) error {
	orphans := r.index.forName(req.NamespacedName)
	if len(orphans) == 0 {
		return nil
	}
	live := r.Adapter.New()
	err := r.APIReader.Get(ctx, req.NamespacedName, live)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for _, o := range orphans {
		if err == nil && o.GetMetadata().GetLabels()[labels.UIDLabel(r.Adapter.Kind())] == string(live.GetUID()) {
			continue
		}
		if o.GetMetadata().GetDeletedAt() != 0 {
			continue
		}
		log.FromContext(ctx).Info("Deleting orphaned IRI object", "id", o.GetMetadata().GetId())
		if err := r.Adapter.Delete(ctx, o.GetMetadata().GetId()); err != nil && status.Code(err) != codes.NotFound {
			return err
		}
	}
	return nil
}

// labelsFor is the poollet identity of obj plus the root identity (downward API): copied when
// a broker created obj, else obj itself is the root.
func (r *Reconciler[K, I]) labelsFor(obj K) map[string]string {
	k := r.Adapter.Kind()
	out := map[string]string{
		labels.UIDLabel(k):       string(obj.GetUID()),
		labels.NamespaceLabel(k): obj.GetNamespace(),
		labels.NameLabel(k):      obj.GetName(),
	}
	prefix := labels.DownwardAPIPrefix(k)
	copied := false
	for key, v := range obj.GetLabels() {
		if len(key) > len(prefix) && key[:len(prefix)] == prefix {
			out[key], copied = v, true
		}
	}
	if !copied {
		out[labels.DownwardAPILabel(k, "root-"+string(k)+"-uid")] = string(obj.GetUID())
		out[labels.DownwardAPILabel(k, "root-"+string(k)+"-namespace")] = obj.GetNamespace()
		out[labels.DownwardAPILabel(k, "root-"+string(k)+"-name")] = obj.GetName()
	}
	return out
}

// generationAnnotation is e.g. machinepoollet.ironcore.dev/machine-generation.
func generationAnnotation(k labels.Kind) string {
	if k == labels.Machine {
		return labels.MachineGenerationAnnotation
	}
	return string(k) + "poollet.ironcore.dev/" + string(k) + "-generation"
}

// GenerationOf returns the Kubernetes generation recorded on an IRI object, or -1.
func GenerationOf(k labels.Kind, annotations map[string]string) int64 {
	g, err := strconv.ParseInt(annotations[generationAnnotation(k)], 10, 64)
	if err != nil {
		return -1
	}
	return g
}
