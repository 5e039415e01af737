package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

type volume = *volumev1alpha1.Volume

func volumeRow(v volume) []string {
	md := v.GetMetadata()
	size := v.GetStatus().GetResources().GetStorageBytes()
	if size == 0 {
		size = v.GetSpec().GetResources().GetStorageBytes()
	}
	return []string{md.GetId(), v.GetSpec().GetClass(), state(v.GetStatus().GetState().String(), "VOLUME_", md),
		bytesString(size), labelSummary(md.GetLabels()), age(md)}
}

func parseVolumeCreate(data []byte) (proto.Message, error) {
	req, obj := &volumev1alpha1.CreateVolumeRequest{}, &volumev1alpha1.Volume{}
	isReq, err := decodeCreate(data, "volume", req, obj)
	if err != nil {
		return nil, err
	}
	if !isReq {
		req.Volume = obj
	}
	return req, checkNewObject(req.GetVolume(), remote.KindVolume)
}

func connectVolumes(ctx context.Context, conn *grpc.ClientConn, opts ...remote.Option) (runner, error) {
	rt, err := remote.NewVolumeRuntime(ctx, conn, opts...)
	if err != nil {
		return nil, err
	}
	return &kindOps[volume]{
		kind:   remote.KindVolume,
		header: []string{"ID", "CLASS", "STATE", "SIZE", "LABELS", "AGE"},
		row:    volumeRow,
		list: func(ctx context.Context, id string, labels map[string]string) (proto.Message, []volume, error) {
			resp, err := rt.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{
				Filter: &volumev1alpha1.VolumeFilter{Id: id, LabelSelector: labels}})
			return resp, resp.GetVolumes(), withPrefix("ListVolumes", err)
		},
		create: func(ctx context.Context, req proto.Message) (volume, error) {
			resp, err := rt.CreateVolume(ctx, req.(*volumev1alpha1.CreateVolumeRequest))
			return resp.GetVolume(), withPrefix("CreateVolume", err)
		},
		delete: func(ctx context.Context, id string) error {
			_, err := rt.DeleteVolume(ctx, &volumev1alpha1.DeleteVolumeRequest{VolumeId: id})
			return withPrefix("DeleteVolume", err)
		},
		status: func(ctx context.Context) (proto.Message, table, error) {
			resp, err := rt.Status(ctx, &volumev1alpha1.StatusRequest{})
			return resp, rows(resp.GetVolumeClassStatus(), []string{"CLASS", "TPS", "IOPS", "QUANTITY"},
				func(s *volumev1alpha1.VolumeClassStatus) []string {
					caps := s.GetVolumeClass().GetCapabilities()
					return []string{s.GetVolumeClass().GetName(), fmt.Sprint(caps.GetTps()), fmt.Sprint(caps.GetIops()),
						bytesString(s.GetQuantity())}
				}), withPrefix("Status", err)
		},
		watcher: func(labels map[string]string, opts remote.WatcherOptions) (*remote.Watcher[volume], error) {
			return remote.NewVolumeWatcher(rt, &volumev1alpha1.VolumeFilter{LabelSelector: labels}, opts)
		},
	}, nil
}
