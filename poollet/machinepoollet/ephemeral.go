// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet

import (
	"context"
	"errors"
	"maps"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/poollet/core"
)

// ephemeralReconciler creates the Volumes and NetworkInterfaces a Machine declares inline
// (<machine>-<name>, owned by the Machine, so they go with it) and deletes those it no longer
// declares.
type ephemeralReconciler struct {
	client client.Client
	// cache lists what machines own, metadata only (the client reads Volumes and
	// NetworkInterfaces live: see ReadLive).
	cache client.Reader
}

func setupEphemeral(mgr manager.Manager, o core.Options) error {
	return builder.ControllerManagedBy(mgr).
		Named("machinepoollet-ephemeral").
		For(&computev1alpha1.Machine{}).
		Owns(&storagev1alpha1.Volume{}, builder.OnlyMetadata).
		Owns(&networkingv1alpha1.NetworkInterface{}, builder.OnlyMetadata).
		WithOptions(controller.Options{MaxConcurrentReconciles: o.Manager.MaxConcurrentReconciles}).
		Complete(&ephemeralReconciler{client: mgr.GetClient(), cache: mgr.GetCache()})
}

func (r *ephemeralReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	m := &computev1alpha1.Machine{}
	if err := r.client.Get(ctx, req.NamespacedName, m); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !m.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil // owner references remove them
	}
	wantVol, wantNIC := map[string]bool{}, map[string]bool{}
	var errs []error
	for _, v := range m.Spec.Volumes {
		if v.Ephemeral == nil || v.Ephemeral.VolumeTemplate == nil {
			continue
		}
		t := v.Ephemeral.VolumeTemplate
		vol := &storagev1alpha1.Volume{}
		vol.Namespace, vol.Name = m.Namespace, VolumeName(m, v)
		vol.Labels, vol.Annotations = maps.Clone(t.Labels), maps.Clone(t.Annotations)
		vol.Spec = *t.Spec.DeepCopy()
		ref := commonv1alpha1.LocalUIDReferenceTo(m)
		vol.Spec.ClaimRef = &ref
		wantVol[vol.Name] = true
		errs = append(errs, r.create(ctx, m, vol))
	}
	for _, n := range m.Spec.NetworkInterfaces {
		if n.Ephemeral == nil || n.Ephemeral.NetworkInterfaceTemplate == nil {
			continue
		}
		t := n.Ephemeral.NetworkInterfaceTemplate
		nic := &networkingv1alpha1.NetworkInterface{}
		nic.Namespace, nic.Name = m.Namespace, NetworkInterfaceName(m, n)
		nic.Labels, nic.Annotations = maps.Clone(t.Labels), maps.Clone(t.Annotations)
		nic.Spec = *t.Spec.DeepCopy()
		ref := commonv1alpha1.LocalUIDReferenceTo(m)
		nic.Spec.MachineRef = &ref
		wantNIC[nic.Name] = true
		errs = append(errs, r.create(ctx, m, nic))
	}
	errs = append(errs,
		r.prune(ctx, m, storagev1alpha1.SchemeGroupVersion.WithKind("VolumeList"), wantVol),
		r.prune(ctx, m, networkingv1alpha1.SchemeGroupVersion.WithKind("NetworkInterfaceList"), wantNIC))
	return reconcile.Result{}, errors.Join(errs...)
}

func (r *ephemeralReconciler) create(ctx context.Context, m *computev1alpha1.Machine, obj client.Object) error {
	if err := controllerutil.SetControllerReference(m, obj, r.client.Scheme()); err != nil {
		return err
	}
	if err := r.client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// prune deletes objects this machine owns that its spec no longer declares.
func (r *ephemeralReconciler) prune(ctx context.Context, m *computev1alpha1.Machine, listKind schema.GroupVersionKind, want map[string]bool) error {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(listKind)
	if err := r.cache.List(ctx, list, client.InNamespace(m.Namespace)); err != nil {
		return err
	}
	var errs []error
	for i := range list.Items {
		obj := &list.Items[i]
		if !want[obj.GetName()] && ownedBy(obj, m) {
			obj.SetGroupVersionKind(listKind.GroupVersion().WithKind(strings.TrimSuffix(listKind.Kind, "List")))
			errs = append(errs, client.IgnoreNotFound(r.client.Delete(ctx, obj)))
		}
	}
	return errors.Join(errs...)
}

func ownedBy(obj client.Object, m *computev1alpha1.Machine) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == m.UID && ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}
