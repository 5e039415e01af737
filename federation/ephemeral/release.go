// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package ephemeral

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
)

// indexMachineRef indexes NetworkInterfaces by the name of the Machine that claims them.
const indexMachineRef = "ironfed.ephemeral.machineRef"

// NICReleaser clears the spec.machineRef of NetworkInterfaces whose Machine is gone or no longer
// refers to them, so another Machine can use them.
type NICReleaser struct {
	Client client.Client
}

// SetupWithManager registers the controller: NetworkInterfaces, and Machines (spec changes,
// deletes) mapped to the NetworkInterfaces they claim.
func (r *NICReleaser) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &networkingv1alpha1.NetworkInterface{}, indexMachineRef, func(o client.Object) []string {
		if ref := o.(*networkingv1alpha1.NetworkInterface).Spec.MachineRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named("networkinterface-release").
		For(&networkingv1alpha1.NetworkInterface{}, builder.WithPredicates(app.SpecChanged())).
		Watches(&computev1alpha1.Machine{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			list := &networkingv1alpha1.NetworkInterfaceList{}
			if err := c.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexMachineRef: o.GetName()}); err != nil {
				return nil
			}
			out := make([]reconcile.Request, 0, len(list.Items))
			for _, n := range list.Items {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&n)})
			}
			return out
		}), builder.WithPredicates(app.FieldsChanged(machineDevices))).
		Complete(r)
}

func (r *NICReleaser) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	nic := &networkingv1alpha1.NetworkInterface{}
	if err := r.Client.Get(ctx, req.NamespacedName, nic); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	ref := nic.Spec.MachineRef
	if ref == nil || !nic.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	m := &computev1alpha1.Machine{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: nic.Namespace, Name: ref.Name}, m)
	switch {
	case client.IgnoreNotFound(err) != nil:
		return reconcile.Result{}, err
	case err == nil && (ref.UID == "" || m.UID == ref.UID) && refersTo(m, nic.Name):
		return reconcile.Result{}, nil // claimed by a live Machine that uses it
	}
	// The resourceVersion precondition keeps a claim made meanwhile.
	orig := nic.DeepCopy()
	nic.Spec.MachineRef = nil
	return reconcile.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, nic, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})))
}

// refersTo reports whether m uses the NetworkInterface name, by reference or as its ephemeral one.
func refersTo(m *computev1alpha1.Machine, name string) bool {
	for _, n := range m.Spec.NetworkInterfaces {
		switch {
		case n.NetworkInterfaceRef != nil && n.NetworkInterfaceRef.Name == name:
			return true
		case n.Ephemeral != nil && Name(m.Name, n.Name) == name:
			return true
		}
	}
	return false
}
