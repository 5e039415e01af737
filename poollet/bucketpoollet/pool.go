// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package bucketpoollet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

type poolAdapter struct {
	rt         remote.BucketRuntime
	providerID string
	// capacity is announced per class: the IRI reports no bucket quantity.
	capacity int64
}

var _ core.PoolAdapter = (*poolAdapter)(nil)

func (*poolAdapter) PoolKind() string                    { return "BucketPool" }
func (*poolAdapter) ClassType() commonv1alpha1.ClassType { return commonv1alpha1.ClassTypeBucketClass }

func (p *poolAdapter) NewPool() client.Object {
	return &storagev1alpha1.BucketPool{Spec: storagev1alpha1.BucketPoolSpec{ProviderID: p.providerID}}
}

func (*poolAdapter) ClassExists(ctx context.Context, c client.Reader, name string) (bool, error) {
	return core.ClassExists(ctx, c, &storagev1alpha1.BucketClass{}, name)
}

func (p *poolAdapter) RuntimeClasses(ctx context.Context) ([]core.ClassQuantity, error) {
	res, err := p.rt.ListBucketClasses(ctx, &bucketv1alpha1.ListBucketClassesRequest{})
	if err != nil {
		return nil, err
	}
	var out []core.ClassQuantity
	for _, c := range res.GetBucketClasses() {
		out = append(out, core.ClassQuantity{Name: c.GetName(), Quantity: p.capacity})
	}
	return out, nil
}

// Usage counts the buckets bound to the pool per class.
func (*poolAdapter) Usage(ctx context.Context, c client.Reader) (map[string]int64, error) {
	list := &storagev1alpha1.BucketList{}
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, b := range list.Items {
		if b.Spec.BucketClassRef != nil {
			out[b.Spec.BucketClassRef.Name]++
		}
	}
	return out, nil
}

func (*poolAdapter) SetStatus(obj client.Object, classes []string, capacity, allocatable commonv1alpha1.ResourceList, ready conditions.Condition) {
	pool := obj.(*storagev1alpha1.BucketPool)
	if capacity != nil {
		pool.Status.AvailableBucketClasses = nil
		for _, c := range classes {
			pool.Status.AvailableBucketClasses = append(pool.Status.AvailableBucketClasses, corev1.LocalObjectReference{Name: c})
		}
		pool.Status.Capacity, pool.Status.Allocatable = capacity, allocatable
	}
	pool.Status.Conditions, _ = conditions.Set(pool.Status.Conditions, conditions.BucketPool, ready)
	if ready.Status == corev1.ConditionTrue {
		pool.Status.State = storagev1alpha1.BucketPoolStateAvailable
	} else {
		pool.Status.State = storagev1alpha1.BucketPoolStateUnavailable
	}
}
