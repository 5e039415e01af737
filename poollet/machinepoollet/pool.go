// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

type poolAdapter struct {
	rt         remote.MachineRuntime
	providerID string
}

var _ core.PoolAdapter = (*poolAdapter)(nil)

func (*poolAdapter) PoolKind() string                    { return "MachinePool" }
func (*poolAdapter) ClassType() commonv1alpha1.ClassType { return commonv1alpha1.ClassTypeMachineClass }

func (p *poolAdapter) NewPool() client.Object {
	return &computev1alpha1.MachinePool{Spec: computev1alpha1.MachinePoolSpec{ProviderID: p.providerID}}
}

func (*poolAdapter) ClassExists(ctx context.Context, c client.Reader, name string) (bool, error) {
	return core.ClassExists(ctx, c, &computev1alpha1.MachineClass{}, name)
}

func (p *poolAdapter) RuntimeClasses(ctx context.Context) ([]core.ClassQuantity, error) {
	res, err := p.rt.Status(ctx, &machinev1alpha1.StatusRequest{})
	if err != nil {
		return nil, err
	}
	var out []core.ClassQuantity
	for _, s := range res.GetMachineClassStatus() {
		out = append(out, core.ClassQuantity{Name: s.GetMachineClass().GetName(), Quantity: s.GetQuantity()})
	}
	return out, nil
}

// Usage counts the machines bound to the pool per class.
func (*poolAdapter) Usage(ctx context.Context, c client.Reader) (map[string]int64, error) {
	list := &computev1alpha1.MachineList{}
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, m := range list.Items {
		out[m.Spec.MachineClassRef.Name]++
	}
	return out, nil
}

func (*poolAdapter) SetStatus(obj client.Object, classes []string, capacity, allocatable commonv1alpha1.ResourceList, ready conditions.Condition) {
	pool := obj.(*computev1alpha1.MachinePool)
	if capacity != nil {
		pool.Status.AvailableMachineClasses = nil
		for _, c := range classes {
			pool.Status.AvailableMachineClasses = append(pool.Status.AvailableMachineClasses, corev1.LocalObjectReference{Name: c})
		}
		pool.Status.Capacity, pool.Status.Allocatable = capacity, allocatable
	}
	pool.Status.Conditions, _ = conditions.Set(pool.Status.Conditions, conditions.MachinePool, ready)
	if ready.Status == corev1.ConditionTrue {
		pool.Status.State = computev1alpha1.MachinePoolStateReady
	} else {
		pool.Status.State = computev1alpha1.MachinePoolStateOffline
	}
}
