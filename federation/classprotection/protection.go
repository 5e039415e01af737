// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package classprotection keeps a class (MachineClass, VolumeClass, BucketClass) from going away
// while objects still use it, as Kubernetes protects PVCs in use: every class carries a
// finalizer while objects refer to it. A class deleted while in use stays (Terminating) with a
// Warning event saying what still uses it, and goes with its last user.
package classprotection

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// Finalizer is on every class that objects use.
const Finalizer = "ironfed.dev/class-in-use-protection"

// ReasonClassInUse is the Warning event on a class deleted while in use.
const ReasonClassInUse = "ClassInUse"

// Kind teaches the controller one class kind and the kind that uses it.
type Kind struct {
	// Name is the class kind ("MachineClass"), User the using kind ("Machine").
	Name, User string
	NewClass   func() client.Object
	// NewUser returns an empty object of the using kind, NewUserList a list of them.
	NewUser     func() client.Object
	NewUserList func() client.ObjectList
	// ClassOf returns the class an object uses ("" for none).
	ClassOf func(client.Object) string
}

// Kinds are the class kinds ironfed serves.
func Kinds() []Kind {
	return []Kind{
		{Name: "MachineClass", User: "Machine",
			NewClass: func() client.Object { return &computev1alpha1.MachineClass{} },
			NewUser:  func() client.Object { return &computev1alpha1.Machine{} }, NewUserList: func() client.ObjectList { return &computev1alpha1.MachineList{} },
			ClassOf: func(o client.Object) string { return o.(*computev1alpha1.Machine).Spec.MachineClassRef.Name }},
		{Name: "VolumeClass", User: "Volume",
			NewClass: func() client.Object { return &storagev1alpha1.VolumeClass{} },
			NewUser:  func() client.Object { return &storagev1alpha1.Volume{} }, NewUserList: func() client.ObjectList { return &storagev1alpha1.VolumeList{} },
			ClassOf: func(o client.Object) string {
				if r := o.(*storagev1alpha1.Volume).Spec.VolumeClassRef; r != nil {
					return r.Name
				}
				return ""
			}},
		{Name: "BucketClass", User: "Bucket",
			NewClass: func() client.Object { return &storagev1alpha1.BucketClass{} },
			NewUser:  func() client.Object { return &storagev1alpha1.Bucket{} }, NewUserList: func() client.ObjectList { return &storagev1alpha1.BucketList{} },
			ClassOf: func(o client.Object) string {
				if r := o.(*storagev1alpha1.Bucket).Spec.BucketClassRef; r != nil {
					return r.Name
				}
				return ""
			}},
	}
}

// Reconciler protects the classes of one kind.
type Reconciler struct {
	Kind     Kind
	Client   client.Client
	Recorder events.EventRecorder
}

func (r *Reconciler) index() string { return "ironfed.classprotection." + r.Kind.Name }

// SetupWithManager registers the controller: classes, and the objects using them mapped to
// their class (so a deleted last user releases it at once).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), r.Kind.NewUser(), r.index(), func(o client.Object) []string {
		if c := r.Kind.ClassOf(o); c != "" {
			return []string{c}
		}
		return nil
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(r.Kind.Name)+"-protection").
		For(r.Kind.NewClass()).
		Watches(r.Kind.NewUser(), handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if c := r.Kind.ClassOf(o); c != "" {
				return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: c}}}
			}
			return nil
		}), builder.WithPredicates(predicate.Funcs{
			// The class refs are immutable: only a new or a deleted user changes what a class
			// protects. Status updates of thousands of users must not relist them each time.
			UpdateFunc: func(event.UpdateEvent) bool { return false },
		})).
		Complete(r)
}

// Reconcile keeps the finalizer on a class exactly while objects use it: an unused class goes at
// once (also when the controller-manager itself is being uninstalled), a used one waits.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	class := r.Kind.NewClass()
	if err := r.Client.Get(ctx, req.NamespacedName, class); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	byClass := client.MatchingFields{r.index(): class.GetName()}
	// Each create of a user brings its class here: whether the class is used is one object read
	// in place, not a copy of every user (that was O(users) per create: O(n²) for n creates).
	users := r.Kind.NewUserList()
	if err := r.Client.List(ctx, users, byClass, client.Limit(1), client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	used := meta.LenList(users) > 0
	protected := controllerutil.ContainsFinalizer(class, Finalizer)
	switch {
	case !used && protected:
		return reconcile.Result{}, r.patchFinalizer(ctx, class, controllerutil.RemoveFinalizer)
	case !used:
		return reconcile.Result{}, nil
	case !protected && class.GetDeletionTimestamp().IsZero():
		return reconcile.Result{}, r.patchFinalizer(ctx, class, controllerutil.AddFinalizer)
	case class.GetDeletionTimestamp().IsZero():
		return reconcile.Result{}, nil
	}
	// Deleted while in use: name the users (read only, so not copied either).
	if err := r.Client.List(ctx, users, byClass, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	items, err := meta.ExtractList(users)
	if err != nil {
		return reconcile.Result{}, err
	}
	var names []string
	for _, o := range items[:min(3, len(items))] {
		u := o.(client.Object)
		names = append(names, u.GetNamespace()+"/"+u.GetName())
	}
	more := ""
	if len(items) > len(names) {
		more = fmt.Sprintf(" and %d more", len(items)-len(names))
	}
	r.Recorder.Eventf(class, nil, corev1.EventTypeWarning, ReasonClassInUse, "Delete",
		"%s %s is deleted but %d %ss still use it (%s%s); it goes once they are gone", r.Kind.Name, class.GetName(), len(items), r.Kind.User, strings.Join(names, ", "), more)
	// The users' deletions bring us back; the requeue only guards a lost event.
	return reconcile.Result{RequeueAfter: time.Minute}, nil
}

func (r *Reconciler) patchFinalizer(ctx context.Context, class client.Object, change func(client.Object, string) bool) error {
	orig := class.DeepCopyObject().(client.Object)
	change(class, Finalizer)
	return client.IgnoreNotFound(r.Client.Patch(ctx, class, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})))
}
