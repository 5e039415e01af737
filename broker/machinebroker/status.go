package machinebroker

import (
	"context"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// Status reports, per downstream machine class with capacity in the Ready
// pools the broker may use, that capacity and the class's resources.
func (b *Broker) Status(ctx context.Context, _ *machinev1alpha1.StatusRequest) (*machinev1alpha1.StatusResponse, error) {
	capacity, err := b.Capacity(ctx)
	resp := &machinev1alpha1.StatusResponse{}
	for _, c := range capacity {
		if !c.Counted {
			continue
		}
		// Whole units (cpu "4" → 4, memory bytes), as IronCore's poollet derives them with
		// quantity.Value() and matches them by equality.
		res := map[string]int64{}
		for name, v := range c.Capabilities {
			res[string(name)] = v.Value()
		}
		resp.MachineClassStatus = append(resp.MachineClassStatus, &machinev1alpha1.MachineClassStatus{
			MachineClass: &machinev1alpha1.MachineClass{Name: c.Name, Capabilities: &machinev1alpha1.MachineClassCapabilities{Resources: res}},
			Quantity:     c.Quantity,
		})
	}
	return resp, err
}
