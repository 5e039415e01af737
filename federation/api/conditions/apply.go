// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package conditions

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Owned is what one writer owns of an object's status (cluster-api's WithOwnedConditions idea):
// the poollet, the scheduler and the pool-lifecycle controller each apply only their part, with
// their own field manager, so none can overwrite another's condition with a stale copy.
type Owned struct {
	// Fields are the top-level status fields the writer sends besides conditions; nil means all
	// of them, an empty slice none.
	Fields []string
	// Conditions reports whether the writer owns a condition type.
	Conditions func(typ string) bool
	// Conditional sends obj's resourceVersion, so the apply fails with a Conflict when obj is
	// stale: for fields shared with another writer, where a stale view must lose.
	Conditional bool
}

// Only owns exactly the condition types given.
func Only(types ...string) func(string) bool {
	return func(t string) bool { return slices.Contains(types, t) }
}

// AllBut owns every condition type except those given.
func AllBut(types ...string) func(string) bool {
	return func(t string) bool { return !slices.Contains(types, t) }
}

// ApplyStatus server-side-applies the owned part of obj's status as fieldManager. What the
// writer sent before and omits now is removed; what other managers own is kept. Ownership is
// forced: each field has one writer by design, and co-owned fields (a pool's Ready, written by
// its poollet and by the lifecycle controller) go to the latest writer, as with an update. obj
// is replaced by the apiserver's answer.
func ApplyStatus(ctx context.Context, c client.Client, obj client.Object, fieldManager string, owned Owned) error {
	u, err := OwnedStatus(obj, c.Scheme(), owned)
	if err != nil {
		return err
	}
	if err := applyDeclared(ctx, c, u, fieldManager); err != nil {
		return err
	}
	fresh := obj.DeepCopyObject()
	reflect.ValueOf(fresh).Elem().Set(reflect.Zero(reflect.TypeOf(fresh).Elem()))
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, fresh); err != nil {
		return fmt.Errorf("decoding the applied %s: %w", u.GetKind(), err)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(fresh).Elem())
	return nil
}

// applyDeclared applies u's status; a status field the apiserver's schema does not declare is
// left out and the rest applied again. ironfed's types add fields to IronCore's (a BucketPool's
// capacity, allocatable and conditions), and IronCore's aggregated apiserver refuses the whole
// apply for one of them ("field not declared in schema"): a bucket pool's status stayed empty.
func applyDeclared(ctx context.Context, c client.Client, u *unstructured.Unstructured, fieldManager string) error {
	for {
		err := c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldManager), client.ForceOwnership)
		if err == nil {
			return nil
		}
		status, _ := u.Object["status"].(map[string]any)
		dropped := false
		for _, field := range UndeclaredStatusFields(err) {
			if _, ok := status[field]; ok {
				delete(status, field)
				dropped = true
			}
		}
		if !dropped { // nothing left to leave out: a real error
			return err
		}
	}
}

var undeclaredStatusField = regexp.MustCompile(`\.status\.([A-Za-z0-9_]+)[^\s:]*: field not declared in schema`)

// UndeclaredStatusFields are the top-level status fields a server-side apply was refused for,
// because the apiserver's schema does not declare them.
func UndeclaredStatusFields(err error) []string {
	var out []string
	for _, m := range undeclaredStatusField.FindAllStringSubmatch(err.Error(), -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// OwnedStatus is the apply configuration ApplyStatus sends: obj's identity and the owned part of
// its status, without null values (which would claim fields without setting them).
func OwnedStatus(obj client.Object, scheme *runtime.Scheme, owned Owned) (*unstructured.Unstructured, error) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return nil, err
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	status, _ := raw["status"].(map[string]any)
	out := map[string]any{}
	for k, v := range status {
		if k != "conditions" && v != nil && (owned.Fields == nil || slices.Contains(owned.Fields, k)) {
			out[k] = dropNulls(v)
		}
	}
	if conds, _ := status["conditions"].([]any); owned.Conditions != nil {
		var mine []any
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && owned.Conditions(fmt.Sprint(m["type"])) {
				mine = append(mine, dropNulls(m))
			}
		}
		if len(mine) > 0 {
			out["conditions"] = mine
		}
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": out}}
	u.SetGroupVersionKind(gvk)
	u.SetName(obj.GetName())
	u.SetNamespace(obj.GetNamespace())
	if owned.Conditional {
		u.SetResourceVersion(obj.GetResourceVersion())
	}
	return u, nil
}

func dropNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = dropNulls(e)
		}
	case []any:
		for i, e := range t {
			t[i] = dropNulls(e)
		}
	}
	return v
}
