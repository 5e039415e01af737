// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package bucketpoollet

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

type poolAdapter struct {
	core.PoolTypes
	rt remote.BucketRuntime
	// capacity is announced per class: the IRI reports no bucket quantity.
	capacity int64
}

var _ core.PoolAdapter = (*poolAdapter)(nil)

func poolTypes(providerID string) core.PoolTypes {
	return core.PoolTypes{
		Name: "BucketPool", Classes: commonv1alpha1.ClassTypeBucketClass,
		Pool: func() client.Object {
			return &storagev1alpha1.BucketPool{Spec: storagev1alpha1.BucketPoolSpec{ProviderID: providerID}}
		},
		Class: func() client.Object { return &storagev1alpha1.BucketClass{} },
	}
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
	p := obj.(*storagev1alpha1.BucketPool)
	core.PoolStatus[storagev1alpha1.BucketPoolCondition, storagev1alpha1.BucketPoolState]{
		Classes: &p.Status.AvailableBucketClasses, Capacity: &p.Status.Capacity, Allocatable: &p.Status.Allocatable,
		Conditions: &p.Status.Conditions, Accessor: conditions.BucketPool, State: &p.Status.State,
		Online: storagev1alpha1.BucketPoolStateAvailable, Offline: storagev1alpha1.BucketPoolStateUnavailable,
	}.Set(classes, capacity, allocatable, ready)
}
