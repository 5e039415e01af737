// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"strings"
	"sync"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Equal strings of two objects share memory once interned; a second pass over an interned object
// writes nothing, so it may run while readers hold the object (run with -race).
func TestInternMeta(t *testing.T) {
	obj := func() *metav1.ObjectMeta {
		return &metav1.ObjectMeta{
			Namespace:   strings.Clone("ns"),
			Finalizers:  []string{strings.Clone("f")},
			Labels:      map[string]string{strings.Clone("marker"): strings.Clone("true"), strings.Clone("other"): strings.Clone("v")},
			Annotations: map[string]string{strings.Clone("a"): strings.Clone("x")},
		}
	}
	a, b := obj(), obj()
	InternMeta(a, "marker")
	InternMeta(b, "marker")
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a.Namespace, b.Namespace) || !same(a.Finalizers[0], b.Finalizers[0]) || !same(a.Labels["marker"], b.Labels["marker"]) {
		t.Fatal("equal strings are not shared")
	}
	if same(a.Labels["other"], b.Labels["other"]) {
		t.Fatal("a value of a label not named was interned")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_ = a.Namespace + a.Finalizers[0] + a.Labels["marker"]
			InternMeta(a, "marker")
		})
	}
	wg.Wait()
	if a.Namespace != "ns" || a.Labels["marker"] != "true" || a.Annotations["a"] != "x" || len(a.Labels) != 2 {
		t.Fatalf("values changed: %+v", a)
	}
}
