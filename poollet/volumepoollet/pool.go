// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package volumepoollet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

type poolAdapter struct {
	rt         remote.VolumeRuntime
	providerID string
}

var _ core.PoolAdapter = (*poolAdapter)(nil)

func (*poolAdapter) PoolKind() string                    { return "VolumePool" }
func (*poolAdapter) ClassType() commonv1alpha1.ClassType { return commonv1alpha1.ClassTypeVolumeClass }

func (p *poolAdapter) NewPool() client.Object {
	return &storagev1alpha1.VolumePool{Spec: storagev1alpha1.VolumePoolSpec{ProviderID: p.providerID}}
}

func (*poolAdapter) ClassExists(ctx context.Context, c client.Reader, name string) (bool, error) {
	return core.ClassExists(ctx, c, &storagev1alpha1.VolumeClass{}, name)
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
	pool := obj.(*storagev1alpha1.VolumePool)
	if capacity != nil {
		pool.Status.AvailableVolumeClasses = nil
		for _, c := range classes {
			pool.Status.AvailableVolumeClasses = append(pool.Status.AvailableVolumeClasses, corev1.LocalObjectReference{Name: c})
		}
		pool.Status.Capacity, pool.Status.Allocatable = capacity, allocatable
	}
	pool.Status.Conditions, _ = conditions.Set(pool.Status.Conditions, conditions.VolumePool, ready)
	if ready.Status == corev1.ConditionTrue {
		pool.Status.State = storagev1alpha1.VolumePoolStateAvailable
	} else {
		pool.Status.State = storagev1alpha1.VolumePoolStateUnavailable
	}
}
