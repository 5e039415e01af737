// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// SpecChanged is predicate.GenerationChangedPredicate for apiservers that do not keep
// metadata.generation: IronCore's aggregated apiserver leaves it 0 for its types, so a Machine's
// new volumeRef never passed and its Volume was never claimed. When both generations are 0 it
// compares the objects' Spec fields and deletion timestamps instead. Creates and deletes pass.
func SpecChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		if e.ObjectOld == nil || e.ObjectNew == nil {
			return false
		}
		oldGen, newGen := e.ObjectOld.GetGeneration(), e.ObjectNew.GetGeneration()
		if oldGen != 0 || newGen != 0 {
			return oldGen != newGen
		}
		if !e.ObjectOld.GetDeletionTimestamp().Equal(e.ObjectNew.GetDeletionTimestamp()) {
			return true
		}
		return !equality.Semantic.DeepEqual(specOf(e.ObjectOld), specOf(e.ObjectNew))
	}}
}

// specOf is the Spec field of a typed object, nil when it has none.
func specOf(o client.Object) any {
	v := reflect.ValueOf(o)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	if f := v.FieldByName("Spec"); f.IsValid() {
		return f.Interface()
	}
	return nil
}

// FieldsChanged passes creates, deletes, an update that starts the deletion, and an update whose
// fields(object) differ: for controllers that read only part of a spec. A bind changes a
// Machine's spec (its pool), and every controller watching spec changes of Machines reacted to
// each of the scheduler's binds although none of them reads the pool.
func FieldsChanged[T client.Object](fields func(T) any) predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, okOld := e.ObjectOld.(T)
		n, okNew := e.ObjectNew.(T)
		if !okOld || !okNew {
			return e.ObjectOld != nil && e.ObjectNew != nil // not ours to judge: let it through
		}
		if !o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp()) {
			return true
		}
		return !equality.Semantic.DeepEqual(fields(o), fields(n))
	}}
}
