// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ironfed/ironfed/federation/api/conditions"
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
	DownwardAPI DownwardAPIOptions
	index       *index[I]
	watcher     *remote.Watcher[I]
	capsOnce    sync.Once
	capsOf      capabilities[K, I]
	nudge       func()
	// runtimeFailed tells the announcer a runtime call failed Unavailable (Announcer.RuntimeFailed).
	runtimeFailed func()
	// written remembers per object the last status this reconciler patched until the cache shows
	// a later version (see patchStatus).
	written sync.Map // client.ObjectKey -> lastWrite
	// failing holds the objects whose last reconcile failed: they sit in the queue's per-object
	// backoff (up to --max-retry-delay), so retryFailing retries them when the runtime is back.
	failing sync.Map // types.NamespacedName -> struct{}
}

// lastWrite is a status patch: the resourceVersion it was based on and the hash of the status
// it wrote (of its JSON, which is also what the apiserver keeps: times in seconds). A hash, not
// the JSON: one is kept per object.
type lastWrite struct {
	uid    types.UID
	baseRV string
	status [sha256.Size]byte
}

// caps are the adapter's optional capabilities, detected on first use.
func (r *Reconciler[K, I]) caps() *capabilities[K, I] {
	r.capsOnce.Do(func() { r.capsOf = detect(r.Adapter) })
	return &r.capsOf
}

func (r *Reconciler[K, I]) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	res, err := r.reconcile(ctx, req)
	if err != nil {
		r.failing.Store(req.NamespacedName, struct{}{})
		if r.runtimeFailed != nil && runtimeUnavailable(err) {
			r.runtimeFailed()
		}
	} else {
		r.failing.Delete(req.NamespacedName)
	}
	return res, err
}

// retryFailing enqueues every object whose last reconcile failed, at once rather than after its
// backoff: called when the runtime answers again after failing (issue 18: a delete held up by an
// outage otherwise waited up to --max-retry-delay after the downstream was back).
func (r *Reconciler[K, I]) retryFailing(ctx context.Context) {
	var keys []types.NamespacedName
	r.failing.Range(func(k, _ any) bool {
		keys = append(keys, k.(types.NamespacedName))
		return true
	})
	if len(keys) == 0 {
		return
	}
	log.FromContext(ctx).Info("Runtime answers again: retrying objects whose reconcile failed", "objects", len(keys))
	go func() { // never block the announcer on a full queue channel
		for _, k := range keys {
			o := r.Adapter.New()
			o.SetNamespace(k.Namespace)
			o.SetName(k.Name)
			select {
			case r.index.events <- event.GenericEvent{Object: o}:
			case <-ctx.Done():
				return
			}
		}
	}()
}

func (r *Reconciler[K, I]) reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if !r.watcher.Status().Synced {
		return reconcile.Result{RequeueAfter: notSyncedRetry}, nil
	}
	if !validKey(req.NamespacedName) {
		// IRI labels naming no possible object (a runtime's own objects, or hostile input):
		// asking the apiserver would fail forever; such objects are orphans.
		return reconcile.Result{}, r.collect(ctx, req)
	}
	obj := r.Adapter.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.Delete(req.NamespacedName)
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
	r.Adapter.SetCondition(obj, prerequisitesCondition(string(r.Adapter.Kind()), waiting))
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
		if md.Labels, recErr = r.labelsFor(obj); recErr != nil {
			break
		}
		// The IRI object is created at the current spec: like upstream, the IRI generation
		// to wait for is 0.
		if md.Annotations, recErr = r.annotationsFor(obj, 0); recErr != nil {
			break
		}
		actual, recErr = r.Adapter.Create(ctx, desired)
		recErr = wrapRuntime("create "+string(r.Adapter.Kind()), recErr)
		if recErr == nil {
			r.index.remember(string(obj.GetUID()), actual)
			log.FromContext(ctx).Info("Created IRI object", "id", actual.GetMetadata().GetId())
		}
	}
	if c, ok := syncedCondition(recErr); ok {
		r.Adapter.SetCondition(obj, c)
	} else if recErr == nil && waiting == nil {
		r.Adapter.SetCondition(obj, syncedTrue)
	}
	var zero I
	if actual != zero {
		observed := true
		if g := r.caps().generations; g != nil {
			observed = g.ObservedCurrent(actual)
		}
		if err := r.Adapter.ApplyStatus(ctx, r.Client, obj, actual, r.RuntimeName, observed); err != nil {
			recErr = errors.Join(recErr, err)
		}
	}
	if err := r.patchStatus(ctx, orig, obj); err != nil {
		recErr = errors.Join(recErr, err)
	}
	return reconcile.Result{}, recErr
}

// update applies spec changes and keeps the IRI annotations current: the generations the
// adapter records (GenerationTracker) and the downward-API annotations. After a spec change the
// annotations wait for the next reconcile (the runtime's change event brings it), which sees the
// IRI generation the change produced, instead of guessing it.
func (r *Reconciler[K, I]) update(ctx context.Context, obj K, desired, actual I) error {
	caps := r.caps()
	if caps.updater != nil {
		changed, err := caps.updater.Update(ctx, obj, desired, actual)
		if err != nil || changed {
			return wrapRuntime("update "+string(r.Adapter.Kind()), err)
		}
	}
	if caps.annotations == nil {
		return nil // annotations are set at create only
	}
	have := actual.GetMetadata().GetAnnotations()
	iriGen := actual.GetMetadata().GetGeneration()
	if g := caps.generations; g != nil {
		// The spec was already recorded at this generation: keep the IRI generation stored then.
		if recorded, ok := g.RecordedIRIGeneration(obj, have); ok {
			iriGen = recorded
		}
	}
	want, err := r.annotationsFor(obj, iriGen)
	if err != nil {
		return err
	}
	if maps.Equal(want, have) {
		return nil
	}
	return wrapRuntime("update "+string(r.Adapter.Kind())+" annotations", caps.annotations.SetAnnotations(ctx, actual.GetMetadata().GetId(), want))
}

// annotationsFor is what the poollet keeps in an IRI object's annotations: the generations the
// adapter records, and the configured downward-API annotations.
func (r *Reconciler[K, I]) annotationsFor(obj K, iriGeneration int64) (map[string]string, error) {
	k := r.Adapter.Kind()
	out := map[string]string{}
	if g := r.caps().generations; g != nil {
		maps.Copy(out, g.GenerationAnnotations(obj, iriGeneration))
	}
	for name, path := range r.DownwardAPI.Annotations {
		v, err := fieldPathValue(obj, path)
		if err != nil {
			return nil, fmt.Errorf("downward-API annotation %s: %w", name, err)
		}
		out[labels.DownwardAPILabel(k, name)] = v
	}
	return out, nil
}

// patchStatus applies obj's status (all but the scheduler's condition) when it differs from orig's. When the informer cache still
// lags our previous write (orig is the very version that write was based on) and the status is
// the one we wrote then, the write would be a duplicate and is skipped.
//
// The record of a write is dropped as soon as the cache holds a later version than the one it
// was based on (the cache never goes back), so records are kept only while a write is in flight,
// not one per object for good (4.5 of 44 MB live at 10k machines).
func (r *Reconciler[K, I]) patchStatus(ctx context.Context, orig, obj K) error {
	key := client.ObjectKeyFromObject(obj)
	var last *lastWrite
	if v, ok := r.written.Load(key); ok {
		if lw := v.(lastWrite); lw.uid == obj.GetUID() && lw.baseRV == orig.GetResourceVersion() {
			last = &lw
		} else {
			r.written.CompareAndDelete(key, v)
		}
	}
	if equality.Semantic.DeepEqual(statusOf(orig), statusOf(obj)) {
		return nil
	}
	data, err := json.Marshal(statusOf(obj))
	if err != nil {
		return err
	}
	status := sha256.Sum256(data)
	if last != nil && last.status == status {
		return nil
	}
	if err := conditions.ApplyStatus(ctx, r.Client, obj, FieldManager(string(r.Adapter.Kind())), OwnedObjectStatus); err != nil {
		return err
	}
	r.written.Store(key, lastWrite{uid: obj.GetUID(), baseRV: orig.GetResourceVersion(), status: status})
	return nil
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
			err = wrapRuntime("delete "+string(r.Adapter.Kind())+" "+o.GetMetadata().GetId(), err)
			if c, ok := syncedCondition(err); ok {
				// Say why deletion is stuck; best effort, the error is what retries.
				orig := obj.DeepCopyObject().(K)
				r.Adapter.SetCondition(obj, c)
				_ = r.patchStatus(ctx, orig, obj)
			}
			return reconcile.Result{}, err
		}
		r.index.forgetCreated(string(obj.GetUID()), o.GetMetadata().GetId())
	}
	existing = r.index.forUID(string(obj.GetUID()))
	if len(existing) > 0 {
		// The Watcher's Deleted event brings us back; the requeue only guards a lost event.
		log.FromContext(ctx).V(1).Info("Waiting for the IRI object to be gone", "count", len(existing))
		return reconcile.Result{RequeueAfter: 10 * time.Second}, nil
	}
	r.written.Delete(client.ObjectKeyFromObject(obj))
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
	var err error = apierrors.NewNotFound(schema.GroupResource{}, req.Name)
	if validKey(req.NamespacedName) {
		err = r.APIReader.Get(ctx, req.NamespacedName, live)
	}
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
// a broker created obj, else obj itself is the root; plus the configured downward-API labels.
func (r *Reconciler[K, I]) labelsFor(obj K) (map[string]string, error) {
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
	for name, path := range r.DownwardAPI.Labels {
		v, err := fieldPathValue(obj, path)
		if err != nil {
			return nil, fmt.Errorf("downward-API label %s: %w", name, err)
		}
		out[labels.DownwardAPILabel(k, name)] = v
	}
	return out, nil
}

// validKey reports whether a namespaced object could have this key.
func validKey(k types.NamespacedName) bool {
	return len(validation.IsDNS1123Label(k.Namespace)) == 0 && len(validation.IsDNS1123Subdomain(k.Name)) == 0
}
