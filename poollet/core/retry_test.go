// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

// An object whose reconcile failed is enqueued again by retryFailing (when the runtime answers
// again) instead of waiting out its backoff; one that then succeeds is no longer retried.
func TestRetryFailingEnqueuesFailedObjects(t *testing.T) {
	ctx := t.Context()
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	down := true
	cl := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if down {
				return errors.New("apiserver away")
			}
			return c.Get(ctx, key, obj, opts...)
		},
	}).Build()
	w, err := remote.NewWatcher(remote.SourceFuncs[*machinev1alpha1.Machine]{
		ListFunc: func(context.Context) ([]*machinev1alpha1.Machine, error) { return nil, nil },
		WatchFunc: func(context.Context) (remote.Stream[*machinev1alpha1.Machine], error) {
			return nil, status.Error(codes.Unimplemented, "no watch")
		},
	}, remote.WatcherOptions{RelistPeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.Run(ctx, func(remote.Event[*machinev1alpha1.Machine]) {}) }()
	for !w.Status().Synced {
		time.Sleep(10 * time.Millisecond)
	}
	idx := newIndex(labels.Machine, w, func() client.Object { return &computev1alpha1.Machine{} })
	r := &Reconciler[*computev1alpha1.Machine, *machinev1alpha1.Machine]{Adapter: &fakeAdapter{t: t}, Client: cl, APIReader: cl, RuntimeName: "fake", index: idx, watcher: w}
	key := types.NamespacedName{Namespace: "ns", Name: "m"}
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err == nil {
		t.Fatal("reconcile succeeded with the apiserver away")
	}
	r.retryFailing(ctx)
	select {
	case ev := <-idx.events:
		if got := client.ObjectKeyFromObject(ev.Object); got != key {
			t.Fatalf("retried %v, want %v", got, key)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed object was not enqueued again")
	}
	down = false // the object is gone: the reconcile collects nothing and succeeds
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	r.retryFailing(ctx)
	select {
	case ev := <-idx.events:
		t.Fatalf("retried %v after it succeeded", client.ObjectKeyFromObject(ev.Object))
	case <-time.After(100 * time.Millisecond):
	}
}

// fakePool is a PoolAdapter over a runtime whose Status always answers (a broker keeps answering
// it through a short downstream outage, while its circuit breaker fails creates fast).
type fakePool struct{}

func (fakePool) PoolKind() string                    { return "MachinePool" }
func (fakePool) ClassType() commonv1alpha1.ClassType { return commonv1alpha1.ClassTypeMachineClass }
func (fakePool) NewPool() client.Object              { return &computev1alpha1.MachinePool{} }
func (fakePool) ClassExists(context.Context, client.Reader, string) (bool, error) {
	return true, nil
}
func (fakePool) RuntimeClasses(context.Context) ([]ClassQuantity, error) { return nil, nil }
func (fakePool) Usage(context.Context, client.Reader) (map[string]int64, error) {
	return map[string]int64{}, nil
}
func (fakePool) SetStatus(client.Object, []string, commonv1alpha1.ResourceList, commonv1alpha1.ResourceList, conditions.Condition) {
}

// A runtime call that failed Unavailable makes the next refresh that finds the runtime answering
// retry the failed objects, although no refresh failed; once, not at every refresh.
func TestUnavailableRuntimeCallRetriesOnNextRefresh(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&computev1alpha1.MachinePool{}).Build()
	retries := 0
	a := &Announcer{
		Adapter: fakePool{}, Client: cl, APIReader: cl, Pool: PoolOptions{Name: "p", StatusPeriod: time.Second},
		WatcherStatus: func() remote.WatcherStatus { return remote.WatcherStatus{Synced: true} },
		onRecovered:   func(context.Context) { retries++ },
	}
	for range 2 {
		if err := a.refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if retries != 0 {
		t.Fatalf("%d retries with nothing failed", retries)
	}
	failed := wrapRuntime("create machine", status.Error(codes.Unavailable, "downstream cluster is unavailable (circuit breaker open)"))
	if !runtimeUnavailable(fmt.Errorf("reconcile: %w", failed)) || runtimeUnavailable(wrapRuntime("create machine", status.Error(codes.InvalidArgument, "bad"))) || runtimeUnavailable(errors.New("apiserver away")) {
		t.Fatal("runtimeUnavailable misclassifies")
	}
	a.RuntimeFailed()
	for range 2 {
		if err := a.refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if retries != 1 {
		t.Fatalf("%d retries after one Unavailable call, want 1", retries)
	}
}
