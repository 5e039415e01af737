package memory

import (
	"context"

	"google.golang.org/grpc"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

type volumeServer struct {
	volumev1alpha1.UnimplementedVolumeRuntimeServer
	v      *Volumes
	events *EventLog
}

var _ volumev1alpha1.VolumeRuntimeServer = (*volumeServer)(nil)

func (s *volumeServer) Version(context.Context, *volumev1alpha1.VersionRequest) (*volumev1alpha1.VersionResponse, error) {
	return &volumev1alpha1.VersionResponse{RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion}, nil
}

func (s *volumeServer) ListEvents(_ context.Context, req *volumev1alpha1.ListEventsRequest) (*volumev1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs := s.events.list(EventFilter{ID: f.GetId(), Labels: f.GetLabelSelector(), FromTime: f.GetEventsFromTime(), ToTime: f.GetEventsToTime()})
	return &volumev1alpha1.ListEventsResponse{Events: evs}, nil
}

func (s *volumeServer) ListVolumes(_ context.Context, req *volumev1alpha1.ListVolumesRequest) (*volumev1alpha1.ListVolumesResponse, error) {
	objs, err := s.v.list(Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()})
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.ListVolumesResponse{Volumes: objs}, nil
}

func (s *volumeServer) CreateVolume(_ context.Context, req *volumev1alpha1.CreateVolumeRequest) (*volumev1alpha1.CreateVolumeResponse, error) {
	obj, err := s.v.Create(req.GetVolume())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.CreateVolumeResponse{Volume: obj}, nil
}

func (s *volumeServer) ExpandVolume(_ context.Context, req *volumev1alpha1.ExpandVolumeRequest) (*volumev1alpha1.ExpandVolumeResponse, error) {
	if req.GetResources() == nil {
		return nil, runtimeerr.ToStatus(runtimeerr.Invalidf("resources.storage_bytes is required"))
	}
	if err := s.v.Expand(req.GetVolumeId(), req.GetResources().GetStorageBytes()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.ExpandVolumeResponse{}, nil
}

func (s *volumeServer) DeleteVolume(_ context.Context, req *volumev1alpha1.DeleteVolumeRequest) (*volumev1alpha1.DeleteVolumeResponse, error) {
	if err := s.v.Delete(req.GetVolumeId()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.DeleteVolumeResponse{}, nil
}

func (s *volumeServer) CreateVolumeSnapshot(_ context.Context, req *volumev1alpha1.CreateVolumeSnapshotRequest) (*volumev1alpha1.CreateVolumeSnapshotResponse, error) {
	obj, err := s.v.CreateSnapshot(req.GetVolumeSnapshot())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.CreateVolumeSnapshotResponse{VolumeSnapshot: obj}, nil
}

func (s *volumeServer) DeleteVolumeSnapshot(_ context.Context, req *volumev1alpha1.DeleteVolumeSnapshotRequest) (*volumev1alpha1.DeleteVolumeSnapshotResponse, error) {
	if err := s.v.DeleteSnapshot(req.GetVolumeSnapshotId()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.DeleteVolumeSnapshotResponse{}, nil
}

func (s *volumeServer) ListVolumeSnapshots(_ context.Context, req *volumev1alpha1.ListVolumeSnapshotsRequest) (*volumev1alpha1.ListVolumeSnapshotsResponse, error) {
	objs, err := s.v.Snapshots.list(Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()})
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &volumev1alpha1.ListVolumeSnapshotsResponse{VolumeSnapshots: objs}, nil
}

func (s *volumeServer) Status(context.Context, *volumev1alpha1.StatusRequest) (*volumev1alpha1.StatusResponse, error) {
	return &volumev1alpha1.StatusResponse{VolumeClassStatus: s.v.Status()}, nil
}

func (s *volumeServer) WatchVolumes(req *volumev1alpha1.WatchVolumesRequest, stream grpc.ServerStreamingServer[volumev1alpha1.WatchVolumesEvent]) error {
	f := Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()}
	return serveWatch(stream.Context(), s.v.Store, f, req.GetSendInitialList(), func(t WatchEventType, obj *volume, seq uint64) error {
		return stream.Send(&volumev1alpha1.WatchVolumesEvent{Type: volumev1alpha1.WatchEventType(t), Object: obj, Sequence: seq})
	})
}
