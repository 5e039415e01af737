package volume

import (
	"context"

	"google.golang.org/grpc"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

// RuntimeName and RuntimeVersion are what Version reports.
const (
	RuntimeName    = "ironfed-ceph-rbd"
	RuntimeVersion = "0.1.0"
)

type server struct {
	volumev1alpha1.UnimplementedVolumeRuntimeServer
	v *Volumes
}

var _ volumev1alpha1.VolumeRuntimeServer = (*server)(nil)

// Server returns the gRPC service (IRI VolumeRuntime plus WatchVolumes).
func (v *Volumes) Server() volumev1alpha1.VolumeRuntimeServer { return &server{v: v} }

// Register adds the service to s.
func (v *Volumes) Register(s *grpc.Server) { volumev1alpha1.RegisterVolumeRuntimeServer(s, v.Server()) }

func (s *server) Version(context.Context, *volumev1alpha1.VersionRequest) (*volumev1alpha1.VersionResponse, error) {
	return &volumev1alpha1.VersionResponse{RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion}, nil
}

func (s *server) ListEvents(_ context.Context, req *volumev1alpha1.ListEventsRequest) (*volumev1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs := s.v.Events.List(objstore.EventFilter{ID: f.GetId(), Labels: f.GetLabelSelector(), FromTime: f.GetEventsFromTime(), ToTime: f.GetEventsToTime()})
	return &volumev1alpha1.ListEventsResponse{Events: evs}, nil
}

func (s *server) ListVolumes(_ context.Context, req *volumev1alpha1.ListVolumesRequest) (*volumev1alpha1.ListVolumesResponse, error) {
	objs, err := s.v.Index.List(objstore.Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()})
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.ListVolumesResponse{Volumes: objs}, nil
}

func (s *server) CreateVolume(ctx context.Context, req *volumev1alpha1.CreateVolumeRequest) (*volumev1alpha1.CreateVolumeResponse, error) {
	obj, err := s.v.Create(ctx, req.GetVolume())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.CreateVolumeResponse{Volume: obj}, nil
}

func (s *server) ExpandVolume(ctx context.Context, req *volumev1alpha1.ExpandVolumeRequest) (*volumev1alpha1.ExpandVolumeResponse, error) {
	if req.GetResources() == nil {
		return nil, runtimeerr.ToStatus(runtimeerr.Invalidf("resources.storage_bytes is required"))
	}
	if err := s.v.Expand(ctx, req.GetVolumeId(), req.GetResources().GetStorageBytes()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.ExpandVolumeResponse{}, nil
}

func (s *server) DeleteVolume(ctx context.Context, req *volumev1alpha1.DeleteVolumeRequest) (*volumev1alpha1.DeleteVolumeResponse, error) {
	if err := s.v.Delete(ctx, req.GetVolumeId()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.DeleteVolumeResponse{}, nil
}

func (s *server) CreateVolumeSnapshot(ctx context.Context, req *volumev1alpha1.CreateVolumeSnapshotRequest) (*volumev1alpha1.CreateVolumeSnapshotResponse, error) {
	obj, err := s.v.CreateSnapshot(ctx, req.GetVolumeSnapshot())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.CreateVolumeSnapshotResponse{VolumeSnapshot: obj}, nil
}

func (s *server) DeleteVolumeSnapshot(ctx context.Context, req *volumev1alpha1.DeleteVolumeSnapshotRequest) (*volumev1alpha1.DeleteVolumeSnapshotResponse, error) {
	if err := s.v.DeleteSnapshot(ctx, req.GetVolumeSnapshotId()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.DeleteVolumeSnapshotResponse{}, nil
}

func (s *server) ListVolumeSnapshots(_ context.Context, req *volumev1alpha1.ListVolumeSnapshotsRequest) (*volumev1alpha1.ListVolumeSnapshotsResponse, error) {
	objs, err := s.v.Snapshots.List(objstore.Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()})
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.ListVolumeSnapshotsResponse{VolumeSnapshots: objs}, nil
}

func (s *server) Status(ctx context.Context, _ *volumev1alpha1.StatusRequest) (*volumev1alpha1.StatusResponse, error) {
	st, err := s.v.Status(ctx)
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.StatusResponse{VolumeClassStatus: st}, nil
}

func (s *server) WatchVolumes(req *volumev1alpha1.WatchVolumesRequest, stream grpc.ServerStreamingServer[volumev1alpha1.WatchVolumesEvent]) error {
	f := objstore.Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()}
	return objstore.ServeWatch(stream.Context(), s.v.Index, f, req.GetSendInitialList(), func(t objstore.WatchType, obj *volume, seq uint64) error {
		return stream.Send(&volumev1alpha1.WatchVolumesEvent{Type: volumev1alpha1.WatchEventType(t), Object: obj, Sequence: seq})
	})
}
