// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/test/framework"
)

// fakeAdapter records deletes and fails the test on creates.
type fakeAdapter struct {
	t       *testing.T
	mu      sync.Mutex
	deleted []string
}

func (*fakeAdapter) Kind() labels.Kind             { return labels.Machine }
func (*fakeAdapter) New() *computev1alpha1.Machine { return &computev1alpha1.Machine{} }
func (*fakeAdapter) Finalizer() string             { return "test/finalizer" }
func (*fakeAdapter) Prepare(context.Context, client.Reader, *computev1alpha1.Machine) (*machinev1alpha1.Machine, *Waiting, error) {
	return &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{}}, nil, nil
}
func (a *fakeAdapter) Create(context.Context, *machinev1alpha1.Machine) (*machinev1alpha1.Machine, error) {
	a.t.Error("Create called although IRI objects exist")
	return nil, status.Error(codes.Internal, "unexpected")
}
func (*fakeAdapter) Update(context.Context, *computev1alpha1.Machine, *machinev1alpha1.Machine, *machinev1alpha1.Machine) (bool, error) {
	return false, nil
}
func (a *fakeAdapter) Delete(_ context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deleted = append(a.deleted, id)
	return nil
}
func (*fakeAdapter) SetAnnotations(context.Context, string, map[string]string) error { return nil }
func (*fakeAdapter) ObservedCurrent(*machinev1alpha1.Machine) bool                   { return true }
func (*fakeAdapter) ApplyStatus(context.Context, client.Client, *computev1alpha1.Machine, *machinev1alpha1.Machine, string, bool) error {
	return nil
}
func (*fakeAdapter) SetCondition(*computev1alpha1.Machine, conditions.Condition) {}
func (*fakeAdapter) Indexes() []Index                                            { return nil }
func (*fakeAdapter) Watches(client.Reader) []Watch                               { return nil }
func (*fakeAdapter) ListEvents(context.Context, int64, int64) ([]*eventv1alpha1.Event, error) {
	return nil, nil
}

// Two IRI objects for one UID (a non-idempotent runtime retried a create): the oldest is kept,
// the other deleted, nothing is created and nothing panics. An IRI object whose labels name no
// possible Kubernetes object is an orphan and is collected (it used to loop on the apiserver's
// refusal forever).
func TestDuplicateIRIObjectsKeepOldest(t *testing.T) {
	cl := testClient(t, "dup")
	ctx := t.Context()
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vm"},
		Spec: computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "c"}}}
	if err := cl.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	iri := func(id string, created int64) *machinev1alpha1.Machine {
		return &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{Id: id, CreatedAt: created, Generation: 1, Labels: map[string]string{
			labels.MachineUIDLabel: string(m.UID), labels.MachineNamespaceLabel: "default", labels.MachineNameLabel: "vm"}}}
	}
	bogus := iri("bogus", 3)
	bogus.Metadata.Labels[labels.MachineUIDLabel] = "other-uid"
	bogus.Metadata.Labels[labels.MachineNamespaceLabel] = "Not_A_Namespace"
	bogus.Metadata.Labels[labels.MachineNameLabel] = "no/such/name"
	objs := []*machinev1alpha1.Machine{iri("newer", 2), iri("older", 1), bogus}
	a := &fakeAdapter{t: t}
	r := startTestReconciler(t, a, cl, objs)
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(m)}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.deleted, []string{"newer"}) {
		t.Fatalf("deleted %v, want [newer]", a.deleted)
	}
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: "Not_A_Namespace", Name: "no/such/name"}}); err != nil {
		t.Fatalf("reconciling an impossible key: %v", err)
	}
	if !slices.Equal(a.deleted, []string{"newer", "bogus"}) {
		t.Fatalf("deleted %v, want [newer bogus]", a.deleted)
	}
}

// A create the runtime answered but never reported (its object was deleted downstream before the
// runtime's cache saw it: TestChaos) does not hold its owner's deletion forever: once the runtime
// has answered the delete, the finalizer goes.
func TestDeleteOfUnreportedCreate(t *testing.T) {
	cl := testClient(t, "ghost")
	ctx := t.Context()
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vm", Finalizers: []string{"test/finalizer"}},
		Spec: computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "c"}}}
	if err := cl.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	a := &fakeAdapter{t: t}
	r := startTestReconciler(t, a, cl, nil)
	r.index.remember(string(m.UID), &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{Id: "ghost"}})
	if err := cl.Delete(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(m)}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.deleted, []string{"ghost"}) {
		t.Fatalf("deleted %v, want [ghost]", a.deleted)
	}
	if err := cl.Get(ctx, client.ObjectKeyFromObject(m), m); !apierrors.IsNotFound(err) {
		t.Fatalf("the machine is still there (%v), finalizers %v", err, m.Finalizers)
	}
}

// testClient is a client of a fresh cluster without controllers.
func testClient(t *testing.T, name string) client.Client {
	t.Helper()
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{name}, WithoutControllerManager: true})[0]
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// startTestReconciler runs a Watcher over a runtime that lists objs (and has no watch) and returns a
// reconciler with adapter a over it, once the Watcher synced.
func startTestReconciler(t *testing.T, a *fakeAdapter, cl client.Client, objs []*machinev1alpha1.Machine) *Reconciler[*computev1alpha1.Machine, *machinev1alpha1.Machine] {
	t.Helper()
	w, err := remote.NewWatcher(remote.SourceFuncs[*machinev1alpha1.Machine]{
		ListFunc: func(context.Context) ([]*machinev1alpha1.Machine, error) { return objs, nil },
		WatchFunc: func(context.Context) (remote.Stream[*machinev1alpha1.Machine], error) {
			return nil, status.Error(codes.Unimplemented, "no watch")
		},
	}, remote.WatcherOptions{RelistPeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	idx := newIndex(labels.Machine, w, func() client.Object { return &computev1alpha1.Machine{} })
	go func() {
		for range idx.events { // nobody reconciles from events here
		}
	}()
	wctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go func() {
		_ = w.Run(wctx, func(ev remote.Event[*machinev1alpha1.Machine]) { idx.handle(wctx, ev) })
	}()
	for !w.Status().Synced {
		time.Sleep(10 * time.Millisecond)
	}
	return &Reconciler[*computev1alpha1.Machine, *machinev1alpha1.Machine]{Adapter: a, Client: cl, APIReader: cl, RuntimeName: "fake", index: idx, watcher: w}
}
