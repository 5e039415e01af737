// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package ephemeral creates the Volumes and NetworkInterfaces a Machine declares inline, as
// IronCore's controller-manager does: named <machine>-<name>, controlled by the Machine (so they
// go with it), claimed by it, and marked with IronCore's annotation
// common.ironcore.dev/ephemeral-managed-by=ephemeral-manager. Only objects carrying the marker and
// controlled by the Machine are pruned when the Machine stops declaring them: a Volume the Machine
// merely controls (one a broker attached, say) is never deleted. Running in the controller-manager
// rather than in a poollet, it serves IronCore's poollets on an ironfed cluster as well.
//
// It also releases NetworkInterface claims: a NetworkInterface whose spec.machineRef names a
// Machine that is gone (or no longer refers to it) gets its machineRef cleared, as
// federation/volumeclaim does for Volumes.
package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
)

// IronCore's marker of ephemeral objects and the manager value its controller-manager writes.
const (
	ManagedByAnnotation = "common.ironcore.dev/ephemeral-managed-by"
	DefaultManager      = "ephemeral-manager"
)

// Name is the object behind a Machine's ephemeral volume or network interface.
func Name(machine, name string) string { return machine + "-" + name }

// IsManagedBy reports whether obj is an ephemeral object of m: marked and controlled by it.
func IsManagedBy(obj, m metav1.Object) bool {
	return obj.GetAnnotations()[ManagedByAnnotation] == DefaultManager && metav1.IsControlledBy(obj, m)
}

// Reconciler keeps a Machine's ephemeral Volumes and NetworkInterfaces.
type Reconciler struct {
	Client client.Client
}

// SetupWithManager registers the controller: Machines (changes of their volumes and network
// interfaces only, not a bind), and the objects they control.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("machine-ephemeral").
		For(&computev1alpha1.Machine{}, builder.WithPredicates(app.FieldsChanged(machineDevices))).
		Owns(&storagev1alpha1.Volume{}, builder.OnlyMetadata).
		Owns(&networkingv1alpha1.NetworkInterface{}, builder.OnlyMetadata).
		Complete(r)
}

func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	m := &computev1alpha1.Machine{}
	if err := r.Client.Get(ctx, req.NamespacedName, m); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !m.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil // owner references remove them
	}
	wantVol, wantNIC := map[string]bool{}, map[string]bool{}
	var errs []error
	ref := commonv1alpha1.LocalUIDReferenceTo(m)
	for _, v := range m.Spec.Volumes {
		if v.Ephemeral == nil || v.Ephemeral.VolumeTemplate == nil {
			continue
		}
		t := v.Ephemeral.VolumeTemplate
		vol := &storagev1alpha1.Volume{Spec: *t.Spec.DeepCopy()}
		vol.Spec.ClaimRef = &ref
		errs = append(errs, r.ensure(ctx, m, v.Name, t.ObjectMeta, vol, &storagev1alpha1.Volume{}, wantVol))
	}
	for _, n := range m.Spec.NetworkInterfaces {
		if n.Ephemeral == nil || n.Ephemeral.NetworkInterfaceTemplate == nil {
			continue
		}
		t := n.Ephemeral.NetworkInterfaceTemplate
		nic := &networkingv1alpha1.NetworkInterface{Spec: *t.Spec.DeepCopy()}
		nic.Spec.MachineRef = &ref
		errs = append(errs, r.ensure(ctx, m, n.Name, t.ObjectMeta, nic, &networkingv1alpha1.NetworkInterface{}, wantNIC))
	}
	errs = append(errs,
		r.prune(ctx, m, &storagev1alpha1.VolumeList{}, wantVol),
		r.prune(ctx, m, &networkingv1alpha1.NetworkInterfaceList{}, wantNIC))
	return reconcile.Result{}, errors.Join(errs...)
}

// ensure creates obj (its spec set) for m's entry with the template's labels and annotations, and
// records its name in want.
func (r *Reconciler) ensure(ctx context.Context, m *computev1alpha1.Machine, entry string, tmpl metav1.ObjectMeta, obj, existing client.Object, want map[string]bool) error {
	obj.SetNamespace(m.Namespace)
	obj.SetName(Name(m.Name, entry))
	obj.SetLabels(maps.Clone(tmpl.Labels))
	obj.SetAnnotations(maps.Clone(tmpl.Annotations))
	want[obj.GetName()] = true
	return r.create(ctx, m, obj, existing)
}

// create creates obj, marked and controlled by m. An object of that name that is not m's is left
// alone and reported: the Machine waits for it to go.
func (r *Reconciler) create(ctx context.Context, m *computev1alpha1.Machine, obj, existing client.Object) error {
	if obj.GetAnnotations() == nil {
		obj.SetAnnotations(map[string]string{})
	}
	obj.GetAnnotations()[ManagedByAnnotation] = DefaultManager
	if err := controllerutil.SetControllerReference(m, obj, r.Client.Scheme()); err != nil {
		return err
	}
	err := r.Client.Create(ctx, obj)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !IsManagedBy(existing, m) {
		return fmt.Errorf("%s %s/%s exists and is not an ephemeral object of Machine %s", kindOf(existing), obj.GetNamespace(), obj.GetName(), m.Name)
	}
	return nil
}

// prune deletes m's ephemeral objects that its spec no longer declares.
func (r *Reconciler) prune(ctx context.Context, m *computev1alpha1.Machine, list client.ObjectList, want map[string]bool) error {
	if err := r.Client.List(ctx, list, client.InNamespace(m.Namespace)); err != nil {
		return err
	}
	var errs []error
	err := forEach(list, func(obj client.Object) {
		if !want[obj.GetName()] && IsManagedBy(obj, m) && obj.GetDeletionTimestamp() == nil {
			errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, obj, client.Preconditions{UID: ptr(obj.GetUID())})))
		}
	})
	return errors.Join(append(errs, err)...)
}

func forEach(list client.ObjectList, f func(client.Object)) error {
	return apimeta.EachListItem(list, func(o runtime.Object) error {
		f(o.(client.Object))
		return nil
	})
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *storagev1alpha1.Volume:
		return "Volume"
	case *networkingv1alpha1.NetworkInterface:
		return "NetworkInterface"
	}
	return fmt.Sprintf("%T", obj)
}

func ptr[T any](v T) *T { return &v }

// machineDevices is what this package reads of a Machine's spec.
func machineDevices(m *computev1alpha1.Machine) any {
	return [2]any{m.Spec.Volumes, m.Spec.NetworkInterfaces}
}
