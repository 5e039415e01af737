// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package bucketpoollet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/poollet/bucketpoollet"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/poollettest"
)

const wait = 20 * time.Second

// The controller-manager schedules an unbound Bucket onto the announced pool; the poollet
// creates it, publishes the endpoint and puts the credentials into an owned Secret.
func TestBucketLifecycle(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	ctx := t.Context()
	if err := e.Client.Create(ctx, &storagev1alpha1.BucketClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}}); err != nil {
		t.Fatal(err)
	}
	o := bucketpoollet.DefaultOptions()
	o.Options = e.Options("bp")
	o.Capacity = 5
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return bucketpoollet.New(ctx, e.Config, o) })
	cmo := controllermanager.DefaultOptions()
	cmo.MetricsBindAddress, cmo.HealthProbeBindAddress, cmo.LeaderElect = "0", "0", false
	cmo.SkipControllerNameValidation = true
	poollettest.Run(t, func(context.Context) (manager.Manager, error) { return controllermanager.New(e.Config, cmo) })

	b := &storagev1alpha1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "logs"},
		Spec:       storagev1alpha1.BucketSpec{BucketClassRef: &commonv1alpha1.LocalObjectReference{Name: "standard"}},
	}
	if err := e.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "bucket available", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		if b.Status.State != storagev1alpha1.BucketStateAvailable || b.Status.Access == nil || b.Status.Access.SecretRef == nil {
			return fmt.Errorf("pool %v status %+v", b.Spec.BucketPoolRef, b.Status)
		}
		return nil
	})
	if want := bucketpoollet.AccessSecretName(b.Name); b.Status.Access.SecretRef.Name != want {
		t.Fatalf("secretRef %q, want upstream's %q", b.Status.Access.SecretRef.Name, want)
	}
	s := &corev1.Secret{}
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: b.Status.Access.SecretRef.Name}, s); err != nil {
		t.Fatal(err)
	}
	if len(s.Data[memory.BucketAccessKeyID]) == 0 || len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != b.UID {
		t.Errorf("secret %+v", s)
	}
	count := commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeBucketClass, "standard")
	poollettest.Eventually(t, wait, "allocatable", func() error {
		p := &storagev1alpha1.BucketPool{}
		if err := e.Client.Get(ctx, client.ObjectKey{Name: "bp"}, p); err != nil {
			return err
		}
		if c, a := p.Status.Capacity[count], p.Status.Allocatable[count]; c.Value() != 5 || a.Value() != 4 {
			return fmt.Errorf("capacity %v allocatable %v", p.Status.Capacity, p.Status.Allocatable)
		}
		return nil
	})

	if err := e.Client.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "bucket gone", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(b), b); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%v)", err)
		}
		return nil
	})
}
