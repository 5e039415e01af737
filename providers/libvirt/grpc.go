package libvirt

import (
	"context"

	"google.golang.org/grpc"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// MachineServer returns the gRPC MachineRuntime service (with ironfed's WatchMachines).
func (p *Provider) MachineServer() machinev1alpha1.MachineRuntimeServer { return &machineServer{p: p} }

// Register adds the machine runtime to s.
func (p *Provider) Register(s *grpc.Server) {
	machinev1alpha1.RegisterMachineRuntimeServer(s, p.MachineServer())
}

type machineServer struct {
	machinev1alpha1.UnimplementedMachineRuntimeServer
	p *Provider
}

var _ machinev1alpha1.MachineRuntimeServer = (*machineServer)(nil)

func (s *machineServer) Version(context.Context, *machinev1alpha1.VersionRequest) (*machinev1alpha1.VersionResponse, error) {
	return &machinev1alpha1.VersionResponse{RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion}, nil
}

func (s *machineServer) ListEvents(_ context.Context, req *machinev1alpha1.ListEventsRequest) (*machinev1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	return &machinev1alpha1.ListEventsResponse{Events: s.p.ListEvents(f.GetId(), f.GetLabelSelector(), f.GetEventsFromTime(), f.GetEventsToTime())}, nil
}

func (s *machineServer) ListMachines(_ context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	return &machinev1alpha1.ListMachinesResponse{Machines: s.p.List(req.GetFilter().GetId(), req.GetFilter().GetLabelSelector())}, nil
}

func (s *machineServer) CreateMachine(_ context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error) {
	m, err := s.p.Create(req.GetMachine())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.CreateMachineResponse{Machine: m}, nil
}

func (s *machineServer) DeleteMachine(_ context.Context, req *machinev1alpha1.DeleteMachineRequest) (*machinev1alpha1.DeleteMachineResponse, error) {
	return &machinev1alpha1.DeleteMachineResponse{}, runtimeerr.ToStatus(s.p.Delete(req.GetMachineId()))
}

func (s *machineServer) UpdateMachineAnnotations(_ context.Context, req *machinev1alpha1.UpdateMachineAnnotationsRequest) (*machinev1alpha1.UpdateMachineAnnotationsResponse, error) {
	if err := s.p.UpdateAnnotations(req.GetMachineId(), req.GetAnnotations()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.UpdateMachineAnnotationsResponse{}, nil
}

func (s *machineServer) UpdateMachinePower(_ context.Context, req *machinev1alpha1.UpdateMachinePowerRequest) (*machinev1alpha1.UpdateMachinePowerResponse, error) {
	if err := s.p.SetPower(req.GetMachineId(), req.GetPower()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.UpdateMachinePowerResponse{}, nil
}

func (s *machineServer) AttachVolume(_ context.Context, req *machinev1alpha1.AttachVolumeRequest) (*machinev1alpha1.AttachVolumeResponse, error) {
	if err := s.p.AttachVolume(req.GetMachineId(), req.GetVolume()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.AttachVolumeResponse{}, nil
}

func (s *machineServer) DetachVolume(_ context.Context, req *machinev1alpha1.DetachVolumeRequest) (*machinev1alpha1.DetachVolumeResponse, error) {
	if err := s.p.DetachVolume(req.GetMachineId(), req.GetName()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.DetachVolumeResponse{}, nil
}

func (s *machineServer) UpdateVolume(_ context.Context, req *machinev1alpha1.UpdateVolumeRequest) (*machinev1alpha1.UpdateVolumeResponse, error) {
	if err := s.p.UpdateVolume(req.GetMachineId(), req.GetVolume()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.UpdateVolumeResponse{}, nil
}

func (s *machineServer) AttachNetworkInterface(_ context.Context, req *machinev1alpha1.AttachNetworkInterfaceRequest) (*machinev1alpha1.AttachNetworkInterfaceResponse, error) {
	if err := s.p.AttachNetworkInterface(req.GetMachineId(), req.GetNetworkInterface()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.AttachNetworkInterfaceResponse{}, nil
}

func (s *machineServer) DetachNetworkInterface(_ context.Context, req *machinev1alpha1.DetachNetworkInterfaceRequest) (*machinev1alpha1.DetachNetworkInterfaceResponse, error) {
	if err := s.p.DetachNetworkInterface(req.GetMachineId(), req.GetName()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.DetachNetworkInterfaceResponse{}, nil
}

func (s *machineServer) Status(context.Context, *machinev1alpha1.StatusRequest) (*machinev1alpha1.StatusResponse, error) {
	cs, err := s.p.Status()
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.StatusResponse{MachineClassStatus: cs}, nil
}

func (s *machineServer) Exec(_ context.Context, req *machinev1alpha1.ExecRequest) (*machinev1alpha1.ExecResponse, error) {
	url, err := s.p.Exec(req.GetMachineId())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &machinev1alpha1.ExecResponse{Url: url}, nil
}

func (s *machineServer) WatchMachines(req *machinev1alpha1.WatchMachinesRequest, stream grpc.ServerStreamingServer[machinev1alpha1.WatchMachinesEvent]) error {
	var seq uint64
	err := s.p.Watch(stream.Context(), req.GetFilter().GetId(), req.GetFilter().GetLabelSelector(), req.GetSendInitialList(),
		func(t machinev1alpha1.WatchEventType, m *machinev1alpha1.Machine) error {
			seq++
			return stream.Send(&machinev1alpha1.WatchMachinesEvent{Type: t, Object: m, Sequence: seq})
		})
	if stream.Context().Err() != nil {
		return nil // the client went away
	}
	return runtimeerr.ToStatus(err)
}
