// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package volumepoollet

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

type poolAdapter struct {
	core.PoolTypes
	rt remote.VolumeRuntime
}

var _ core.PoolAdapter = (*poolAdapter)(nil)

func poolTypes(providerID string) core.PoolTypes {
	return core.PoolTypes{
		Name: "VolumePool", Classes: commonv1alpha1.ClassTypeVolumeClass,
		Pool: func() client.Object {
			return &storagev1alpha1.VolumePool{Spec: storagev1alpha1.VolumePoolSpec{ProviderID: providerID}}
		},
		Class: func() client.Object { return &storagev1alpha1.VolumeClass{} },
	}
}

// RuntimeClasses reports bytes per class.
func (p *poolAdapter) RuntimeClasses(ctx context.Context) ([]core.ClassQuantity, error) {
	res, err := p.rt.Status(ctx, &volumev1alpha1.StatusRequest{})
	if err != nil {
		return nil, err
	}
	var out []core.ClassQuantity
	for _, s := range res.GetVolumeClassStatus() {
		out = append(out, core.ClassQuantity{Name: s.GetVolumeClass().GetName(), Quantity: s.GetQuantity()})
	}
	return out, nil
}

// Usage sums the requested bytes of the volumes bound to the pool per class.
func (*poolAdapter) Usage(ctx context.Context, c client.Reader) (map[string]int64, error) {
	list := &storagev1alpha1.VolumeList{}
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, v := range list.Items {
		if v.Spec.VolumeClassRef == nil {
			continue
		}
		if q, ok := v.Spec.Resources[commonv1alpha1.ResourceStorage]; ok {
			out[v.Spec.VolumeClassRef.Name] += q.Value()
		}
	}
	return out, nil
}

func (*poolAdapter) SetStatus(obj client.Object, classes []string, capacity, allocatable commonv1alpha1.ResourceList, ready conditions.Condition) {
	p := obj.(*storagev1alpha1.VolumePool)
	core.PoolStatus[storagev1alpha1.VolumePoolCondition, storagev1alpha1.VolumePoolState]{
		Classes: &p.Status.AvailableVolumeClasses, Capacity: &p.Status.Capacity, Allocatable: &p.Status.Allocatable,
		Conditions: &p.Status.Conditions, Accessor: conditions.VolumePool, State: &p.Status.State,
		Online: storagev1alpha1.VolumePoolStateAvailable, Offline: storagev1alpha1.VolumePoolStateUnavailable,
	}.Set(classes, capacity, allocatable, ready)
}
