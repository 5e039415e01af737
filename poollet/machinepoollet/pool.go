// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

type poolAdapter struct {
	core.PoolTypes
	rt remote.MachineRuntime
}

var _ core.PoolAdapter = (*poolAdapter)(nil)

func poolTypes(providerID string) core.PoolTypes {
	return core.PoolTypes{
		Name: "MachinePool", Classes: commonv1alpha1.ClassTypeMachineClass,
		Pool: func() client.Object {
			return &computev1alpha1.MachinePool{Spec: computev1alpha1.MachinePoolSpec{ProviderID: providerID}}
		},
		Class: func() client.Object { return &computev1alpha1.MachineClass{} },
	}
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
	p := obj.(*computev1alpha1.MachinePool)
	core.PoolStatus[computev1alpha1.MachinePoolCondition, computev1alpha1.MachinePoolState]{
		Classes: &p.Status.AvailableMachineClasses, Capacity: &p.Status.Capacity, Allocatable: &p.Status.Allocatable,
		Conditions: &p.Status.Conditions, Accessor: conditions.MachinePool, State: &p.Status.State,
		Online: computev1alpha1.MachinePoolStateReady, Offline: computev1alpha1.MachinePoolStateOffline,
	}.Set(classes, capacity, allocatable, ready)
}
