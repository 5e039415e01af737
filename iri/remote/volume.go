package remote

import (
	"context"
	"time"

	"google.golang.org/grpc"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// VolumeRuntime is volumev1alpha1.VolumeRuntimeClient without call options;
// see MachineRuntime for what NewVolumeRuntime's implementation adds.
type VolumeRuntime interface {
	Version(ctx context.Context, req *volumev1alpha1.VersionRequest) (*volumev1alpha1.VersionResponse, error)
	ListEvents(ctx context.Context, req *volumev1alpha1.ListEventsRequest) (*volumev1alpha1.ListEventsResponse, error)
	ListVolumes(ctx context.Context, req *volumev1alpha1.ListVolumesRequest) (*volumev1alpha1.ListVolumesResponse, error)
	CreateVolume(ctx context.Context, req *volumev1alpha1.CreateVolumeRequest) (*volumev1alpha1.CreateVolumeResponse, error)
	ExpandVolume(ctx context.Context, req *volumev1alpha1.ExpandVolumeRequest) (*volumev1alpha1.ExpandVolumeResponse, error)
	DeleteVolume(ctx context.Context, req *volumev1alpha1.DeleteVolumeRequest) (*volumev1alpha1.DeleteVolumeResponse, error)
	CreateVolumeSnapshot(ctx context.Context, req *volumev1alpha1.CreateVolumeSnapshotRequest) (*volumev1alpha1.CreateVolumeSnapshotResponse, error)
	DeleteVolumeSnapshot(ctx context.Context, req *volumev1alpha1.DeleteVolumeSnapshotRequest) (*volumev1alpha1.DeleteVolumeSnapshotResponse, error)
	ListVolumeSnapshots(ctx context.Context, req *volumev1alpha1.ListVolumeSnapshotsRequest) (*volumev1alpha1.ListVolumeSnapshotsResponse, error)
	Status(ctx context.Context, req *volumev1alpha1.StatusRequest) (*volumev1alpha1.StatusResponse, error)
	// WatchVolumes has no timeout: the stream lives until ctx ends.
	WatchVolumes(ctx context.Context, req *volumev1alpha1.WatchVolumesRequest) (grpc.ServerStreamingClient[volumev1alpha1.WatchVolumesEvent], error)
}

var _ VolumeRuntime = (*volumeRuntime)(nil)

type volumeRuntime struct {
	c       volumev1alpha1.VolumeRuntimeClient
	timeout time.Duration
}

// NewVolumeRuntime returns a VolumeRuntime over conn after checking with
// Version that a volume runtime answers.
func NewVolumeRuntime(ctx context.Context, conn grpc.ClientConnInterface, opts ...Option) (VolumeRuntime, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &volumeRuntime{c: volumev1alpha1.NewVolumeRuntimeClient(conn), timeout: o.callTimeout}
	resp, err := r.Version(ctx, &volumev1alpha1.VersionRequest{Version: APIVersion})
	if err := checkVersion(KindVolume, resp, err); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *volumeRuntime) Version(ctx context.Context, req *volumev1alpha1.VersionRequest) (*volumev1alpha1.VersionResponse, error) {
	return call(ctx, r.timeout, r.c.Version, req)
}

func (r *volumeRuntime) ListEvents(ctx context.Context, req *volumev1alpha1.ListEventsRequest) (*volumev1alpha1.ListEventsResponse, error) {
	return call(ctx, r.timeout, r.c.ListEvents, req)
}

func (r *volumeRuntime) ListVolumes(ctx context.Context, req *volumev1alpha1.ListVolumesRequest) (*volumev1alpha1.ListVolumesResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.ListVolumes, req)
	return checked(resp, err, func(resp *volumev1alpha1.ListVolumesResponse) error {
		return checkObjects(resp.GetVolumes(), "ListVolumesResponse")
	})
}

func (r *volumeRuntime) CreateVolume(ctx context.Context, req *volumev1alpha1.CreateVolumeRequest) (*volumev1alpha1.CreateVolumeResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.CreateVolume, req)
	return checked(resp, err, func(resp *volumev1alpha1.CreateVolumeResponse) error {
		return checkObject(resp.GetVolume(), "CreateVolumeResponse")
	})
}

func (r *volumeRuntime) ExpandVolume(ctx context.Context, req *volumev1alpha1.ExpandVolumeRequest) (*volumev1alpha1.ExpandVolumeResponse, error) {
	return call(ctx, r.timeout, r.c.ExpandVolume, req)
}

func (r *volumeRuntime) DeleteVolume(ctx context.Context, req *volumev1alpha1.DeleteVolumeRequest) (*volumev1alpha1.DeleteVolumeResponse, error) {
	return call(ctx, r.timeout, r.c.DeleteVolume, req)
}

func (r *volumeRuntime) CreateVolumeSnapshot(ctx context.Context, req *volumev1alpha1.CreateVolumeSnapshotRequest) (*volumev1alpha1.CreateVolumeSnapshotResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.CreateVolumeSnapshot, req)
	return checked(resp, err, func(resp *volumev1alpha1.CreateVolumeSnapshotResponse) error {
		return checkObject(resp.GetVolumeSnapshot(), "CreateVolumeSnapshotResponse")
	})
}

func (r *volumeRuntime) DeleteVolumeSnapshot(ctx context.Context, req *volumev1alpha1.DeleteVolumeSnapshotRequest) (*volumev1alpha1.DeleteVolumeSnapshotResponse, error) {
	return call(ctx, r.timeout, r.c.DeleteVolumeSnapshot, req)
}

func (r *volumeRuntime) ListVolumeSnapshots(ctx context.Context, req *volumev1alpha1.ListVolumeSnapshotsRequest) (*volumev1alpha1.ListVolumeSnapshotsResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.ListVolumeSnapshots, req)
	return checked(resp, err, func(resp *volumev1alpha1.ListVolumeSnapshotsResponse) error {
		return checkObjects(resp.GetVolumeSnapshots(), "ListVolumeSnapshotsResponse")
	})
}

func (r *volumeRuntime) Status(ctx context.Context, req *volumev1alpha1.StatusRequest) (*volumev1alpha1.StatusResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.Status, req)
	return checked(resp, err, func(resp *volumev1alpha1.StatusResponse) error {
		names := make([]string, 0, len(resp.GetVolumeClassStatus()))
		for _, s := range resp.GetVolumeClassStatus() {
			names = append(names, s.GetVolumeClass().GetName())
		}
		return checkClassNames(names, "StatusResponse")
	})
}

func (r *volumeRuntime) WatchVolumes(ctx context.Context, req *volumev1alpha1.WatchVolumesRequest) (grpc.ServerStreamingClient[volumev1alpha1.WatchVolumesEvent], error) {
	return r.c.WatchVolumes(ctx, req)
}
