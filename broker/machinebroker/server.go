package machinebroker

import (
	"context"
	"strings"

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
	return &machinev1alpha1.VersionResponse{RuntimeName: Name, RuntimeVersion: Version}, nil
}

func (b *Broker) ListMachines(ctx context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	f := req.GetFilter()
	items, err := b.store.List(ctx, f.GetId(), f.GetLabelSelector())
	if err != nil {
		return nil, err
	}
	return &machinev1alpha1.ListMachinesResponse{Machines: items}, nil
}

func (b *Broker) ListEvents(ctx context.Context, req *machinev1alpha1.ListEventsRequest) (*machinev1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs, err := b.store.ListEvents(ctx, common.EventFilter{ID: f.GetId(), Selector: f.GetLabelSelector(), From: f.GetEventsFromTime(), To: f.GetEventsToTime()})
	if err != nil {
		return nil, err
	}
	return &machinev1alpha1.ListEventsResponse{Events: evs}, nil
}

func (b *Broker) CreateMachine(ctx context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error) {
	m := req.GetMachine()
	if m == nil {
		return nil, common.Invalidf("machine is required")
	}
	spec := m.GetSpec()
	if spec == nil {
		return nil, common.Invalidf("machine.spec is required")
	}
	if err := b.validateSpec(ctx, spec); err != nil {
		return nil, err
	}
	data, err := secretData(spec)
	if err != nil {
		return nil, common.Invalidf("encode secret data: %v", err)
	}
	res, created, err := b.store.Create(ctx, m.GetMetadata(), common.CreateFuncs[*computev1alpha1.Machine]{
		Build: func(id string, om metav1ObjectMeta) (*computev1alpha1.Machine, error) {
			dm := &computev1alpha1.Machine{ObjectMeta: om}
			dm.Spec.MachineClassRef = commonv1alpha1.LocalObjectReference{Name: spec.Class}
			dm.Spec.Power = toPower(spec.Power)
			if b.opts.PoolName != "" {
				dm.Spec.MachinePoolRef = &commonv1alpha1.LocalObjectReference{Name: b.opts.PoolName}
			}
			if len(b.opts.PoolSelector) > 0 {
				dm.Spec.MachinePoolSelector = b.opts.PoolSelector
			}
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
	})
	if err != nil {
		return nil, err
	}
	if created {
		// The Secret may not have reached the cache yet: answer with the request's spec.
		res.Spec = proto.Clone(spec).(*machinev1alpha1.MachineSpec)
	}
	return &machinev1alpha1.CreateMachineResponse{Machine: res}, nil
}

func (b *Broker) DeleteMachine(ctx context.Context, req *machinev1alpha1.DeleteMachineRequest) (*machinev1alpha1.DeleteMachineResponse, error) {
	if err := b.store.Delete(ctx, req.GetMachineId()); err != nil {
		return nil, err
	}
	return &machinev1alpha1.DeleteMachineResponse{}, nil
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

func (b *Broker) Exec(context.Context, *machinev1alpha1.ExecRequest) (*machinev1alpha1.ExecResponse, error) {
	return nil, errUnimplemented("Exec: the machine broker does not forward consoles yet")
}

func (b *Broker) WatchMachines(req *machinev1alpha1.WatchMachinesRequest, stream grpc.ServerStreamingServer[machinev1alpha1.WatchMachinesEvent]) error {
	var seq uint64
	f := req.GetFilter()
	return b.store.Hub.Watch(stream.Context(), f.GetId(), f.GetLabelSelector(), req.GetSendInitialList(), func(t common.EventType, m *machinev1alpha1.Machine) error {
		seq++
		ev := &machinev1alpha1.WatchMachinesEvent{Sequence: seq, Object: m}
		switch t {
		case common.Added:
			ev.Type = machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED
		case common.Modified:
			ev.Type = machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED
		case common.Deleted:
			ev.Type = machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_DELETED
		case common.Bookmark:
			ev.Type, ev.Object = machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_BOOKMARK, nil
		}
		return stream.Send(ev)
	})
}

func (b *Broker) validateSpec(ctx context.Context, spec *machinev1alpha1.MachineSpec) error {
	if spec.Class == "" {
		return common.Invalidf("machine.spec.class is required; supported machine classes: %s", b.classNames(ctx))
	}
	if !b.classExists(ctx, spec.Class) {
		return common.Invalidf("machine class %q is not supported; supported machine classes: %s", spec.Class, b.classNames(ctx))
	}
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

func (b *Broker) classExists(ctx context.Context, name string) bool {
	var mc computev1alpha1.MachineClass
	return b.D.Cache.Get(ctx, clientKey(name), &mc) == nil
}

func (b *Broker) classNames(ctx context.Context) string {
	var list computev1alpha1.MachineClassList
	if err := b.D.Cache.List(ctx, &list); err != nil || len(list.Items) == 0 {
		return "(none)"
	}
	names := make([]string, 0, len(list.Items))
	for _, c := range list.Items {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}
