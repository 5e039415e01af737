package machinebroker

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// Status sums the capacity of the Ready downstream pools the broker may
// schedule onto (the named pool, or those matching the selector, or all)
// per machine class, with the capabilities of the downstream classes.
// While the downstream is unreachable it fails with Unavailable instead of
// reporting cached capacity, so the poollet marks the pool not Ready.
func (b *Broker) Status(ctx context.Context, _ *machinev1alpha1.StatusRequest) (*machinev1alpha1.StatusResponse, error) {
	if err := b.D.Unreachable(); err != nil {
		return nil, err
	}
	var pools computev1alpha1.MachinePoolList
	opts := []client.ListOption{}
	if len(b.opts.PoolSelector) > 0 {
		opts = append(opts, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(b.opts.PoolSelector)})
	}
	if err := b.D.Cache.List(ctx, &pools, opts...); err != nil {
		return nil, b.D.ToStatus("list machine pools", err)
	}
	quantity := map[string]int64{}
	for _, p := range pools.Items {
		if b.opts.PoolName != "" && p.Name != b.opts.PoolName {
			continue
		}
		if !conditions.IsTrue(p.Status.Conditions, conditions.MachinePool, "Ready") {
			continue
		}
		for name, q := range p.Status.Capacity {
			if t, class, ok := commonv1alpha1.ParseClassCount(name); ok && t == commonv1alpha1.ClassTypeMachineClass {
				quantity[class] += q.Value()
			}
		}
	}
	var classes computev1alpha1.MachineClassList
	if err := b.D.Cache.List(ctx, &classes); err != nil {
		return nil, b.D.ToStatus("list machine classes", err)
	}
	resp := &machinev1alpha1.StatusResponse{}
	for _, c := range classes.Items {
		q, ok := quantity[c.Name]
		if !ok {
			continue
		}
		res := map[string]int64{}
		for name, v := range c.Capabilities {
			if name == commonv1alpha1.ResourceName(corev1.ResourceCPU) {
				res[string(name)] = v.MilliValue()
			} else {
				res[string(name)] = v.Value()
			}
		}
		resp.MachineClassStatus = append(resp.MachineClassStatus, &machinev1alpha1.MachineClassStatus{
			MachineClass: &machinev1alpha1.MachineClass{Name: c.Name, Capabilities: &machinev1alpha1.MachineClassCapabilities{Resources: res}},
			Quantity:     q,
		})
	}
	sort.Slice(resp.MachineClassStatus, func(i, j int) bool {
		return resp.MachineClassStatus[i].MachineClass.Name < resp.MachineClassStatus[j].MachineClass.Name
	})
	return resp, nil
}
