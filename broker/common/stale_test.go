package common

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// TestDeleteDropsStaleCacheEntry: when the apiserver answers a delete with NotFound while the cache
// still holds the object (its deletion event was lost), the object leaves the cache and the IRI
// watchers get Deleted, so the poollet above stops waiting for it.
func TestDeleteDropsStaleCacheEntry(t *testing.T) {
	m := brokeredMachine(1, "uid-1")
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(m).WithInterceptorFuncs(interceptor.Funcs{
		Delete: func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error {
			// Gone already, but the informer never heard of it.
			return apierrors.NewNotFound(schema.GroupResource{Group: "compute.ironcore.dev", Resource: "machines"}, m.Name)
		},
	}).Build()
	s := startFakeStore(t, c, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if l, err := s.List(ctx, m.Name, nil); err != nil || len(l) != 1 {
		t.Fatalf("before the delete the store lists %d (%v), want the cached machine", len(l), err)
	}
	events := make(chan EventType, 8)
	go func() {
		_ = s.Hub.Watch(ctx, m.Name, nil, true, func(typ EventType, _ *machinev1alpha1.Machine) error { events <- typ; return nil })
	}()
	for _, want := range []EventType{Added, Bookmark} {
		if typ := <-events; typ != want {
			t.Fatalf("watch event %v, want %v", typ, want)
		}
	}
	if err := s.Delete(ctx, m.Name); err != nil {
		t.Fatal(err)
	}
	if l, err := s.List(ctx, m.Name, nil); err != nil || len(l) != 0 {
		t.Errorf("after the delete the store still lists %d (%v)", len(l), err)
	}
	select {
	case typ := <-events:
		if typ != Deleted {
			t.Errorf("watch event %v after the delete, want Deleted", typ)
		}
	case <-ctx.Done():
		t.Error("watchers were not told the machine is gone")
	}
	// A delete the cache agrees with drops nothing more.
	if err := s.Delete(ctx, m.Name); err != nil {
		t.Fatal(err)
	}
}
