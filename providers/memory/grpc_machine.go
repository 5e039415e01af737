package memory

import (
	"context"

	"google.golang.org/grpc"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

type machineServer struct {
	machinev1alpha1.UnimplementedMachineRuntimeServer
	m      *Machines
	events *EventLog
}

var _ machinev1alpha1.MachineRuntimeServer = (*machineServer)(nil)

func (s *machineServer) Version(context.Context, *machinev1alpha1.VersionRequest) (*machinev1alpha1.VersionResponse, error) {
	return &machinev1alpha1.VersionResponse{RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion}, nil
}

func (s *machineServer) ListEvents(_ context.Context, req *machinev1alpha1.ListEventsRequest) (*machinev1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs := s.events.list(EventFilter{ID: f.GetId(), Labels: f.GetLabelSelector(), FromTime: f.GetEventsFromTime(), ToTime: f.GetEventsToTime()})
	return &machinev1alpha1.ListEventsResponse{Events: evs}, nil
}

func (s *machineServer) ListMachines(_ context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	objs, err := s.m.list(Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()})
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.ListMachinesResponse{Machines: objs}, nil
}

func (s *machineServer) CreateMachine(_ context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error) {
	obj, err := s.m.Create(req.GetMachine())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.CreateMachineResponse{Machine: obj}, nil
}

func (s *machineServer) DeleteMachine(_ context.Context, req *machinev1alpha1.DeleteMachineRequest) (*machinev1alpha1.DeleteMachineResponse, error) {
	if err := s.m.Delete(req.GetMachineId()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.DeleteMachineResponse{}, nil
}

func (s *machineServer) UpdateMachineAnnotations(_ context.Context, req *machinev1alpha1.UpdateMachineAnnotationsRequest) (*machinev1alpha1.UpdateMachineAnnotationsResponse, error) {
	if err := s.m.UpdateAnnotations(req.GetMachineId(), req.GetAnnotations()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.UpdateMachineAnnotationsResponse{}, nil
}

func (s *machineServer) UpdateMachinePower(_ context.Context, req *machinev1alpha1.UpdateMachinePowerRequest) (*machinev1alpha1.UpdateMachinePowerResponse, error) {
	if err := s.m.SetPower(req.GetMachineId(), req.GetPower()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.UpdateMachinePowerResponse{}, nil
}

func (s *machineServer) AttachVolume(_ context.Context, req *machinev1alpha1.AttachVolumeRequest) (*machinev1alpha1.AttachVolumeResponse, error) {
	if err := s.m.AttachVolume(req.GetMachineId(), req.GetVolume()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.AttachVolumeResponse{}, nil
}

func (s *machineServer) DetachVolume(_ context.Context, req *machinev1alpha1.DetachVolumeRequest) (*machinev1alpha1.DetachVolumeResponse, error) {
	if err := s.m.DetachVolume(req.GetMachineId(), req.GetName()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.DetachVolumeResponse{}, nil
}

func (s *machineServer) UpdateVolume(_ context.Context, req *machinev1alpha1.UpdateVolumeRequest) (*machinev1alpha1.UpdateVolumeResponse, error) {
	if err := s.m.UpdateVolume(req.GetMachineId(), req.GetVolume()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.UpdateVolumeResponse{}, nil
}

func (s *machineServer) AttachNetworkInterface(_ context.Context, req *machinev1alpha1.AttachNetworkInterfaceRequest) (*machinev1alpha1.AttachNetworkInterfaceResponse, error) {
	if err := s.m.AttachNetworkInterface(req.GetMachineId(), req.GetNetworkInterface()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.AttachNetworkInterfaceResponse{}, nil
}

func (s *machineServer) DetachNetworkInterface(_ context.Context, req *machinev1alpha1.DetachNetworkInterfaceRequest) (*machinev1alpha1.DetachNetworkInterfaceResponse, error) {
	if err := s.m.DetachNetworkInterface(req.GetMachineId(), req.GetName()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.DetachNetworkInterfaceResponse{}, nil
}

func (s *machineServer) Status(context.Context, *machinev1alpha1.StatusRequest) (*machinev1alpha1.StatusResponse, error) {
	return &machinev1alpha1.StatusResponse{MachineClassStatus: s.m.Status()}, nil
}

func (s *machineServer) Exec(_ context.Context, req *machinev1alpha1.ExecRequest) (*machinev1alpha1.ExecResponse, error) {
	url, err := s.m.Exec(req.GetMachineId())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.ExecResponse{Url: url}, nil
}

func (s *machineServer) WatchMachines(req *machinev1alpha1.WatchMachinesRequest, stream grpc.ServerStreamingServer[machinev1alpha1.WatchMachinesEvent]) error {
	f := Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()}
	return serveWatch(stream.Context(), s.m.Store, f, req.GetSendInitialList(), func(t WatchEventType, obj *machine, seq uint64) error {
		return stream.Send(&machinev1alpha1.WatchMachinesEvent{Type: machinev1alpha1.WatchEventType(t), Object: obj, Sequence: seq})
	})
}
