package machinebroker

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// MaxIgnitionBytes bounds a machine's ignition data (as the memory provider).
const MaxIgnitionBytes = 1 << 20

func (b *Broker) Version(context.Context, *machinev1alpha1.VersionRequest) (*machinev1alpha1.VersionResponse, error) {
	return &machinev1alpha1.VersionResponse{RuntimeName: Name, RuntimeVersion: common.Version}, nil
}

func (b *Broker) ListMachines(ctx context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	resp := &machinev1alpha1.ListMachinesResponse{}
	return resp, b.Answer(ctx, req.GetFilter(), resp)
}

func (b *Broker) ListEvents(ctx context.Context, req *machinev1alpha1.ListEventsRequest) (*machinev1alpha1.ListEventsResponse, error) {
	evs, err := b.ListEventsFiltered(ctx, req.GetFilter())
	return &machinev1alpha1.ListEventsResponse{Events: evs}, err
}

func (b *Broker) CreateMachine(ctx context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error) {
	m := req.GetMachine()
	spec, err := common.SpecOf(m, "machine")
	if err != nil {
		return nil, err
	}
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	data, err := secretData(spec)
	if err != nil {
		return nil, common.Invalidf("encode secret data: %v", err)
	}
	f := common.CreateFuncs[*computev1alpha1.Machine]{
		Class: spec.Class,
		Build: func(id string, om metav1ObjectMeta) (*computev1alpha1.Machine, error) {
			dm := &computev1alpha1.Machine{ObjectMeta: om}
			dm.Spec.MachineClassRef = commonv1alpha1.LocalObjectReference{Name: spec.Class}
			dm.Spec.Power = toPower(spec.Power)
			dm.Spec.MachinePoolRef, dm.Spec.MachinePoolSelector = b.PoolRef(), b.PoolSelector()
			if err := applySpec(dm, spec, data != nil); err != nil {
				return nil, common.Invalidf("encode spec: %v", err)
			}
			return dm, nil
		},
		Subs: func(ctx context.Context, owner *computev1alpha1.Machine) error {
			if data != nil {
				if err := b.upsertSecret(ctx, owner, data); err != nil {
					return err
				}
			}
			subs, err := b.subObjects(owner, spec)
			if err != nil {
				return err
			}
			for _, o := range subs {
				if err := b.createSub(ctx, o); err != nil {
					return err
				}
			}
			return nil
		},
	}
	if data == nil && !hasSubObjects(spec) {
		f.Subs = nil // complete at once: one write
	}
	res, created, err := b.Create(ctx, m.GetMetadata(), f)
	if created {
		// The Secret may not have reached the cache yet: answer with the request's spec.
		res.Spec = proto.Clone(spec).(*machinev1alpha1.MachineSpec)
	}
	return &machinev1alpha1.CreateMachineResponse{Machine: res}, err
}

func (b *Broker) DeleteMachine(ctx context.Context, req *machinev1alpha1.DeleteMachineRequest) (*machinev1alpha1.DeleteMachineResponse, error) {
	return &machinev1alpha1.DeleteMachineResponse{}, b.store.Delete(ctx, req.GetMachineId())
}

func (b *Broker) UpdateMachineAnnotations(ctx context.Context, req *machinev1alpha1.UpdateMachineAnnotationsRequest) (*machinev1alpha1.UpdateMachineAnnotationsResponse, error) {
	if err := b.store.UpdateAnnotations(ctx, req.GetMachineId(), req.GetAnnotations()); err != nil {
		return nil, err
	}
	return &machinev1alpha1.UpdateMachineAnnotationsResponse{}, nil
}

func (b *Broker) UpdateMachinePower(ctx context.Context, req *machinev1alpha1.UpdateMachinePowerRequest) (*machinev1alpha1.UpdateMachinePowerResponse, error) {
	if err := checkPower(req.GetPower()); err != nil {
		return nil, err
	}
	want := toPower(req.GetPower())
	err := b.store.Update(ctx, req.GetMachineId(), func(cur *computev1alpha1.Machine) (map[string]any, error) {
		if cur.Spec.Power == want {
			return nil, nil
		}
		return map[string]any{"spec": map[string]any{"power": want}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &machinev1alpha1.UpdateMachinePowerResponse{}, nil
}

// Exec returns a single-use URL of this broker that proxies the machine's
// console from the downstream cluster (console.go).
func (b *Broker) Exec(ctx context.Context, req *machinev1alpha1.ExecRequest) (*machinev1alpha1.ExecResponse, error) {
	if b.console == nil {
		return nil, errUnimplemented("Exec: this machine broker runs without an exec server (start it with --exec-bind-address)")
	}
	url, err := b.console.url(ctx, req.GetMachineId())
	if err != nil {
		return nil, err
	}
	return &machinev1alpha1.ExecResponse{Url: url}, nil
}

func (b *Broker) WatchMachines(req *machinev1alpha1.WatchMachinesRequest, stream grpc.ServerStreamingServer[machinev1alpha1.WatchMachinesEvent]) error {
	return common.ServeWatch(b.store, req.GetFilter(), req.GetSendInitialList(), stream)
}

func validateSpec(spec *machinev1alpha1.MachineSpec) error {
	if n := len(spec.IgnitionData); n > MaxIgnitionBytes {
		return common.Invalidf("machine.spec.ignition_data is %d bytes; at most %d bytes (1 MiB) are allowed", n, MaxIgnitionBytes)
	}
	if err := checkPower(spec.Power); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, v := range spec.Volumes {
		if err := checkVolume(v); err != nil {
			return err
		}
		if seen[attachName(v.Name)] {
			return common.Invalidf("machine.spec.volumes: name %q is used twice", v.Name)
		}
		seen[attachName(v.Name)] = true
	}
	seen = map[string]bool{}
	for _, n := range spec.NetworkInterfaces {
		if err := checkNIC(n); err != nil {
			return err
		}
		if seen[attachName(n.Name)] {
			return common.Invalidf("machine.spec.network_interfaces: name %q is used twice", n.Name)
		}
		seen[attachName(n.Name)] = true
	}
	return nil
}

func checkPower(p machinev1alpha1.Power) error {
	switch p {
	case machinev1alpha1.Power_POWER_ON, machinev1alpha1.Power_POWER_OFF:
		return nil
	}
	return common.Invalidf("power %d is not valid; use POWER_ON or POWER_OFF", int32(p))
}

func checkVolume(v *machinev1alpha1.Volume) error {
	if v == nil {
		return common.Invalidf("volume is required")
	}
	if v.Name == "" {
		return common.Invalidf("volume.name is required")
	}
	switch {
	case (v.LocalDisk == nil) == (v.Connection == nil):
		return common.Invalidf("volume %q must set exactly one of local_disk and connection", v.Name)
	case v.LocalDisk != nil && v.LocalDisk.SizeBytes < 0:
		return common.Invalidf("volume %q: local_disk.size_bytes must not be negative", v.Name)
	case v.Connection != nil && (v.Connection.Driver == "" || v.Connection.Handle == ""):
		return common.Invalidf("volume %q: connection.driver and connection.handle are required", v.Name)
	}
	return nil
}

func checkNIC(n *machinev1alpha1.NetworkInterface) error {
	if n == nil {
		return common.Invalidf("network_interface is required")
	}
	if n.Name == "" {
		return common.Invalidf("network_interface.name is required")
	}
	return nil
}
