package remote

import (
	"context"
	"time"

	"google.golang.org/grpc"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

// MachineRuntime is machinev1alpha1.MachineRuntimeClient without call
// options, so callers can fake it. NewMachineRuntime's implementation
// bounds every unary call by the call timeout and rejects incomplete
// responses with ErrIncompleteResponse.
type MachineRuntime interface {
	Version(ctx context.Context, req *machinev1alpha1.VersionRequest) (*machinev1alpha1.VersionResponse, error)
	ListEvents(ctx context.Context, req *machinev1alpha1.ListEventsRequest) (*machinev1alpha1.ListEventsResponse, error)
	ListMachines(ctx context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error)
	CreateMachine(ctx context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error)
	DeleteMachine(ctx context.Context, req *machinev1alpha1.DeleteMachineRequest) (*machinev1alpha1.DeleteMachineResponse, error)
	UpdateMachineAnnotations(ctx context.Context, req *machinev1alpha1.UpdateMachineAnnotationsRequest) (*machinev1alpha1.UpdateMachineAnnotationsResponse, error)
	UpdateMachinePower(ctx context.Context, req *machinev1alpha1.UpdateMachinePowerRequest) (*machinev1alpha1.UpdateMachinePowerResponse, error)
	AttachVolume(ctx context.Context, req *machinev1alpha1.AttachVolumeRequest) (*machinev1alpha1.AttachVolumeResponse, error)
	DetachVolume(ctx context.Context, req *machinev1alpha1.DetachVolumeRequest) (*machinev1alpha1.DetachVolumeResponse, error)
	UpdateVolume(ctx context.Context, req *machinev1alpha1.UpdateVolumeRequest) (*machinev1alpha1.UpdateVolumeResponse, error)
	AttachNetworkInterface(ctx context.Context, req *machinev1alpha1.AttachNetworkInterfaceRequest) (*machinev1alpha1.AttachNetworkInterfaceResponse, error)
	DetachNetworkInterface(ctx context.Context, req *machinev1alpha1.DetachNetworkInterfaceRequest) (*machinev1alpha1.DetachNetworkInterfaceResponse, error)
	Status(ctx context.Context, req *machinev1alpha1.StatusRequest) (*machinev1alpha1.StatusResponse, error)
	Exec(ctx context.Context, req *machinev1alpha1.ExecRequest) (*machinev1alpha1.ExecResponse, error)
	// WatchMachines has no timeout: the stream lives until ctx ends.
	WatchMachines(ctx context.Context, req *machinev1alpha1.WatchMachinesRequest) (grpc.ServerStreamingClient[machinev1alpha1.WatchMachinesEvent], error)
}

var _ MachineRuntime = (*machineRuntime)(nil)

type machineRuntime struct {
	c       machinev1alpha1.MachineRuntimeClient
	timeout time.Duration
}

// NewMachineRuntime returns a MachineRuntime over conn (usually from Dial)
// after checking with Version that a machine runtime answers.
func NewMachineRuntime(ctx context.Context, conn grpc.ClientConnInterface, opts ...Option) (MachineRuntime, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &machineRuntime{c: machinev1alpha1.NewMachineRuntimeClient(conn), timeout: o.callTimeout}
	resp, err := r.Version(ctx, &machinev1alpha1.VersionRequest{Version: APIVersion})
	if err := checkVersion(KindMachine, resp, err); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *machineRuntime) Version(ctx context.Context, req *machinev1alpha1.VersionRequest) (*machinev1alpha1.VersionResponse, error) {
	return call(ctx, r.timeout, r.c.Version, req)
}

func (r *machineRuntime) ListEvents(ctx context.Context, req *machinev1alpha1.ListEventsRequest) (*machinev1alpha1.ListEventsResponse, error) {
	return call(ctx, r.timeout, r.c.ListEvents, req)
}

func (r *machineRuntime) ListMachines(ctx context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.ListMachines, req)
	return checked(resp, err, func(resp *machinev1alpha1.ListMachinesResponse) error {
		return checkObjects(resp.GetMachines(), "ListMachinesResponse")
	})
}

func (r *machineRuntime) CreateMachine(ctx context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.CreateMachine, req)
	return checked(resp, err, func(resp *machinev1alpha1.CreateMachineResponse) error {
		return checkObject(resp.GetMachine(), "CreateMachineResponse")
	})
}

func (r *machineRuntime) DeleteMachine(ctx context.Context, req *machinev1alpha1.DeleteMachineRequest) (*machinev1alpha1.DeleteMachineResponse, error) {
	return call(ctx, r.timeout, r.c.DeleteMachine, req)
}

func (r *machineRuntime) UpdateMachineAnnotations(ctx context.Context, req *machinev1alpha1.UpdateMachineAnnotationsRequest) (*machinev1alpha1.UpdateMachineAnnotationsResponse, error) {
	return call(ctx, r.timeout, r.c.UpdateMachineAnnotations, req)
}

func (r *machineRuntime) UpdateMachinePower(ctx context.Context, req *machinev1alpha1.UpdateMachinePowerRequest) (*machinev1alpha1.UpdateMachinePowerResponse, error) {
	return call(ctx, r.timeout, r.c.UpdateMachinePower, req)
}

func (r *machineRuntime) AttachVolume(ctx context.Context, req *machinev1alpha1.AttachVolumeRequest) (*machinev1alpha1.AttachVolumeResponse, error) {
	return call(ctx, r.timeout, r.c.AttachVolume, req)
}

func (r *machineRuntime) DetachVolume(ctx context.Context, req *machinev1alpha1.DetachVolumeRequest) (*machinev1alpha1.DetachVolumeResponse, error) {
	return call(ctx, r.timeout, r.c.DetachVolume, req)
}

func (r *machineRuntime) UpdateVolume(ctx context.Context, req *machinev1alpha1.UpdateVolumeRequest) (*machinev1alpha1.UpdateVolumeResponse, error) {
	return call(ctx, r.timeout, r.c.UpdateVolume, req)
}

func (r *machineRuntime) AttachNetworkInterface(ctx context.Context, req *machinev1alpha1.AttachNetworkInterfaceRequest) (*machinev1alpha1.AttachNetworkInterfaceResponse, error) {
	return call(ctx, r.timeout, r.c.AttachNetworkInterface, req)
}

func (r *machineRuntime) DetachNetworkInterface(ctx context.Context, req *machinev1alpha1.DetachNetworkInterfaceRequest) (*machinev1alpha1.DetachNetworkInterfaceResponse, error) {
	return call(ctx, r.timeout, r.c.DetachNetworkInterface, req)
}

func (r *machineRuntime) Status(ctx context.Context, req *machinev1alpha1.StatusRequest) (*machinev1alpha1.StatusResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.Status, req)
	return checked(resp, err, func(resp *machinev1alpha1.StatusResponse) error {
		names := make([]string, 0, len(resp.GetMachineClassStatus()))
		for _, s := range resp.GetMachineClassStatus() {
			names = append(names, s.GetMachineClass().GetName())
		}
		return checkClassNames(names, "StatusResponse")
	})
}

func (r *machineRuntime) Exec(ctx context.Context, req *machinev1alpha1.ExecRequest) (*machinev1alpha1.ExecResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.Exec, req)
	return checked(resp, err, func(resp *machinev1alpha1.ExecResponse) error {
		if resp.GetUrl() == "" {
			return incomplete("ExecResponse has no url")
		}
		return nil
	})
}

func (r *machineRuntime) WatchMachines(ctx context.Context, req *machinev1alpha1.WatchMachinesRequest) (grpc.ServerStreamingClient[machinev1alpha1.WatchMachinesEvent], error) {
	return r.c.WatchMachines(ctx, req)
}
