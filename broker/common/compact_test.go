package common

import (
	"sync"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The transform interns keys and marker values, keeps every label and annotation, and writes
// nothing to an object it has transformed before (a resumed watch hands the store's own object
// back while readers hold it: run with -race).
func TestCompactTransform(t *testing.T) {
	tr := compactTransform()
	newObj := func() *metav1.PartialObjectMetadata {
		o := &metav1.PartialObjectMetadata{}
		o.Namespace = string([]byte("brokered"))
		o.Labels = map[string]string{string([]byte(ManagedByLabel)): string([]byte("machinebroker")), string([]byte(UIDLabel)): string([]byte("u-1"))}
		o.Annotations = map[string]string{string([]byte(LabelsAnnotation)): `{"a":"b"}`}
		o.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "x"}}
		return o
	}
	a, b := newObj(), newObj()
	for _, o := range []*metav1.PartialObjectMetadata{a, b} {
		if _, err := tr(o); err != nil {
			t.Fatal(err)
		}
	}
	if a.ManagedFields != nil || len(a.Labels) != 2 || a.Labels[UIDLabel] != "u-1" || a.Annotations[LabelsAnnotation] != `{"a":"b"}` {
		t.Fatalf("transformed object changed: %+v", a.ObjectMeta)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a.Namespace, b.Namespace) || !same(a.Labels[ManagedByLabel], b.Labels[ManagedByLabel]) {
		t.Fatal("namespace and marker values not shared")
	}
	for k := range a.Labels {
		for k2 := range b.Labels {
			if k == k2 && !same(k, k2) {
				t.Fatalf("label key %s not shared", k)
			}
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			_ = a.Labels[UIDLabel] + a.Annotations[LabelsAnnotation] + a.Namespace
		}
	})
	for range 100 {
		if _, err := tr(a); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
