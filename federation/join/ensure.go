package join

import (
	"context"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// ensure creates want, or brings an existing object that join owns up to
// date: get, change (reports whether it changed anything), update, retried
// on conflicts.
func ensure[T metav1.Object](o Options, kind, name string, want T,
	create func(T) error, get func() (T, error), change func(cur T) bool, update func(T) error) error {
	err := create(want)
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %s %s: %w", kind, name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := get()
		if err != nil {
			return fmt.Errorf("get %s %s: %w", kind, name, err)
		}
		if !o.owns(cur) {
			return o.notOwned(kind, name)
		}
		if !change(cur) {
			return nil
		}
		if err := update(cur); err != nil {
			return fmt.Errorf("update %s %s: %w", kind, name, err)
		}
		return nil
	})
	return err
}

func ensureServiceAccount(ctx context.Context, cs kubernetes.Interface, o Options) error {
	c := cs.CoreV1().ServiceAccounts(o.Namespace)
	return ensure(o, "ServiceAccount", o.Namespace+"/"+o.Name,
		&corev1.ServiceAccount{ObjectMeta: o.meta(o.Namespace, o.Name)},
		func(w *corev1.ServiceAccount) error { _, err := c.Create(ctx, w, metav1.CreateOptions{}); return err },
		func() (*corev1.ServiceAccount, error) { return c.Get(ctx, o.Name, metav1.GetOptions{}) },
		func(*corev1.ServiceAccount) bool { return false }, // owned (labels checked) and nothing else to keep current
		func(cur *corev1.ServiceAccount) error {
			_, err := c.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
}

func ensureRole(ctx context.Context, cs kubernetes.Interface, o Options) error {
	c := cs.RbacV1().Roles(o.Namespace)
	rules := NamespaceRules()
	return ensure(o, "Role", o.Namespace+"/"+o.Name,
		&rbacv1.Role{ObjectMeta: o.meta(o.Namespace, o.Name), Rules: rules},
		func(w *rbacv1.Role) error { _, err := c.Create(ctx, w, metav1.CreateOptions{}); return err },
		func() (*rbacv1.Role, error) { return c.Get(ctx, o.Name, metav1.GetOptions{}) },
		func(cur *rbacv1.Role) bool {
			changed := !reflect.DeepEqual(cur.Rules, rules)
			cur.Rules = rules
			return changed
		},
		func(cur *rbacv1.Role) error { _, err := c.Update(ctx, cur, metav1.UpdateOptions{}); return err })
}

func ensureClusterRole(ctx context.Context, cs kubernetes.Interface, o Options) error {
	c := cs.RbacV1().ClusterRoles()
	rules, name := ClusterRules(), o.clusterName()
	return ensure(o, "ClusterRole", name,
		&rbacv1.ClusterRole{ObjectMeta: o.meta("", name), Rules: rules},
		func(w *rbacv1.ClusterRole) error { _, err := c.Create(ctx, w, metav1.CreateOptions{}); return err },
		func() (*rbacv1.ClusterRole, error) { return c.Get(ctx, name, metav1.GetOptions{}) },
		func(cur *rbacv1.ClusterRole) bool {
			changed := !reflect.DeepEqual(cur.Rules, rules)
			cur.Rules = rules
			return changed
		},
		func(cur *rbacv1.ClusterRole) error { _, err := c.Update(ctx, cur, metav1.UpdateOptions{}); return err })
}

func (o Options) subjects() []rbacv1.Subject {
	return []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: o.Name, Namespace: o.Namespace}}
}

// A binding's roleRef is immutable: one that points elsewhere is an error
// rather than silently recreated, as it is not what join wrote.
func roleRefError(kind, name string, got, want rbacv1.RoleRef) error {
	return fmt.Errorf("%s %s binds %s %s, not %s %s: delete it (or Leave) and join again", kind, name, got.Kind, got.Name, want.Kind, want.Name)
}

func ensureRoleBinding(ctx context.Context, cs kubernetes.Interface, o Options) error {
	c := cs.RbacV1().RoleBindings(o.Namespace)
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: o.Name}
	var refErr error
	err := ensure(o, "RoleBinding", o.Namespace+"/"+o.Name,
		&rbacv1.RoleBinding{ObjectMeta: o.meta(o.Namespace, o.Name), RoleRef: ref, Subjects: o.subjects()},
		func(w *rbacv1.RoleBinding) error { _, err := c.Create(ctx, w, metav1.CreateOptions{}); return err },
		func() (*rbacv1.RoleBinding, error) { return c.Get(ctx, o.Name, metav1.GetOptions{}) },
		func(cur *rbacv1.RoleBinding) bool {
			if cur.RoleRef != ref {
				refErr = roleRefError("RoleBinding", o.Namespace+"/"+o.Name, cur.RoleRef, ref)
				return false
			}
			changed := !reflect.DeepEqual(cur.Subjects, o.subjects())
			cur.Subjects = o.subjects()
			return changed
		},
		func(cur *rbacv1.RoleBinding) error { _, err := c.Update(ctx, cur, metav1.UpdateOptions{}); return err })
	if err != nil {
		return err
	}
	return refErr
}

func ensureClusterRoleBinding(ctx context.Context, cs kubernetes.Interface, o Options) error {
	c := cs.RbacV1().ClusterRoleBindings()
	name := o.clusterName()
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	var refErr error
	err := ensure(o, "ClusterRoleBinding", name,
		&rbacv1.ClusterRoleBinding{ObjectMeta: o.meta("", name), RoleRef: ref, Subjects: o.subjects()},
		func(w *rbacv1.ClusterRoleBinding) error {
			_, err := c.Create(ctx, w, metav1.CreateOptions{})
			return err
		},
		func() (*rbacv1.ClusterRoleBinding, error) { return c.Get(ctx, name, metav1.GetOptions{}) },
		func(cur *rbacv1.ClusterRoleBinding) bool {
			if cur.RoleRef != ref {
				refErr = roleRefError("ClusterRoleBinding", name, cur.RoleRef, ref)
				return false
			}
			changed := !reflect.DeepEqual(cur.Subjects, o.subjects())
			cur.Subjects = o.subjects()
			return changed
		},
		func(cur *rbacv1.ClusterRoleBinding) error {
			_, err := c.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	if err != nil {
		return err
	}
	return refErr
}
