package volumebroker

import (
	"context"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

func (b *Broker) Version(context.Context, *volumev1alpha1.VersionRequest) (*volumev1alpha1.VersionResponse, error) {
	return &volumev1alpha1.VersionResponse{RuntimeName: Name, RuntimeVersion: common.Version}, nil
}

func (b *Broker) ListVolumes(ctx context.Context, req *volumev1alpha1.ListVolumesRequest) (*volumev1alpha1.ListVolumesResponse, error) {
	resp := &volumev1alpha1.ListVolumesResponse{}
	return resp, b.Answer(ctx, req.GetFilter(), resp)
}

func (b *Broker) ListEvents(ctx context.Context, req *volumev1alpha1.ListEventsRequest) (*volumev1alpha1.ListEventsResponse, error) {
	evs, err := b.ListEventsFiltered(ctx, req.GetFilter())
	if err == nil && b.snaps != nil {
		// The events of a volume runtime include its snapshots' (poollets forward them to VolumeSnapshots).
		var snapEvs []*eventv1alpha1.Event
		if snapEvs, err = b.snaps.ListEventsFiltered(ctx, req.GetFilter()); len(snapEvs) > 0 {
			evs = append(evs, snapEvs...)
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].GetSpec().GetEventTime() < evs[j].GetSpec().GetEventTime() })
		}
	}
	return &volumev1alpha1.ListEventsResponse{Events: evs}, err
}

func (b *Broker) CreateVolume(ctx context.Context, req *volumev1alpha1.CreateVolumeRequest) (*volumev1alpha1.CreateVolumeResponse, error) {
	v := req.GetVolume()
	spec, err := common.SpecOf(v, "volume")
	if err != nil {
		return nil, err
	}
	if n := spec.GetResources().GetStorageBytes(); n <= 0 || n > storagev1alpha1.MaxVolumeBytes {
		return nil, common.Invalidf("volume.spec.resources.storage_bytes is required and must be positive and at most %d (1 PiB), got %d", storagev1alpha1.MaxVolumeBytes, n)
	}
	ds := spec.GetVolumeDataSource()
	if ds.GetImageDataSource() != nil && ds.GetSnapshotDataSource() != nil {
		return nil, common.Invalidf("volume.spec.volume_data_source must set at most one of image_data_source and snapshot_data_source")
	}
	var snapshotPool string
	if src := ds.GetSnapshotDataSource(); src != nil {
		if snapshotPool, err = b.restoreSource(ctx, src.GetSnapshotId(), spec.GetEncryption()); err != nil {
			return nil, err
		}
	}
	encrypted := spec.GetEncryption() != nil
	res, created, err := b.Create(ctx, v.GetMetadata(), common.CreateFuncs[*storagev1alpha1.Volume]{
		Class: spec.Class,
		Build: func(id string, om metav1.ObjectMeta) (*storagev1alpha1.Volume, error) {
			dv := &storagev1alpha1.Volume{ObjectMeta: om}
			dv.Spec.VolumeClassRef = &commonv1alpha1.LocalObjectReference{Name: spec.Class}
			dv.Spec.Resources = storageList(spec.Resources.StorageBytes)
			dv.Spec.VolumePoolRef, dv.Spec.VolumePoolSelector = b.PoolRef(), b.PoolSelector()
			if img := spec.GetVolumeDataSource().GetImageDataSource(); img != nil {
				src := &storagev1alpha1.OSDataSource{Image: img.Image}
				if img.Architecture != "" {
					arch := img.Architecture
					src.Architecture = &arch
				}
				dv.Spec.DataSource.OSImage = src
			}
			if src := spec.GetVolumeDataSource().GetSnapshotDataSource(); src != nil {
				dv.Spec.DataSource.VolumeSnapshotRef = &commonv1alpha1.LocalObjectReference{Name: src.SnapshotId}
				if dv.Spec.VolumePoolRef == nil && snapshotPool != "" {
					// Only the provider holding the snapshot can restore it.
					dv.Spec.VolumePoolRef = &commonv1alpha1.LocalObjectReference{Name: snapshotPool}
				}
			}
			if encrypted {
				dv.Spec.Encryption = &storagev1alpha1.VolumeEncryption{SecretRef: commonv1alpha1.LocalObjectReference{Name: id + EncryptionSuffix}}
			}
			return dv, nil
		},
		Subs: func(ctx context.Context, owner *storagev1alpha1.Volume) error {
			if !encrypted {
				return nil
			}
			s := &corev1.Secret{
				ObjectMeta: b.SubMeta(owner.Name+EncryptionSuffix, "", owner, storagev1alpha1.SchemeGroupVersion.String(), "Volume"),
				Type:       corev1.SecretTypeOpaque, Data: spec.Encryption.SecretData,
			}
			if err := b.CreateSub(ctx, s); err != nil {
				return err
			}
			b.WaitCached(ctx, s)
			return nil
		},
	})
	if created {
		res.Spec = proto.Clone(spec).(*volumev1alpha1.VolumeSpec)
	}
	return &volumev1alpha1.CreateVolumeResponse{Volume: res}, err
}

func (b *Broker) ExpandVolume(ctx context.Context, req *volumev1alpha1.ExpandVolumeRequest) (*volumev1alpha1.ExpandVolumeResponse, error) {
	n := req.GetResources().GetStorageBytes()
	if n <= 0 || n > storagev1alpha1.MaxVolumeBytes {
		return nil, common.Invalidf("resources.storage_bytes is required and must be positive and at most %d (1 PiB), got %d", storagev1alpha1.MaxVolumeBytes, n)
	}
	err := b.Update(ctx, req.GetVolumeId(), func(cur *storagev1alpha1.Volume) (map[string]any, error) {
		have := storageOf(cur.Spec.Resources)
		switch {
		case n == have:
			return nil, nil
		case n < have:
			return nil, common.Invalidf("volume %s has %d bytes; it can only grow, not shrink to %d bytes", cur.Name, have, n)
		}
		return map[string]any{"spec": map[string]any{"resources": storageList(n)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &volumev1alpha1.ExpandVolumeResponse{}, nil
}

func (b *Broker) DeleteVolume(ctx context.Context, req *volumev1alpha1.DeleteVolumeRequest) (*volumev1alpha1.DeleteVolumeResponse, error) {
	return &volumev1alpha1.DeleteVolumeResponse{}, b.Delete(ctx, req.GetVolumeId())
}

// Status reports, per downstream volume class with capacity in the Ready
// pools the broker may use, that capacity in bytes.
func (b *Broker) Status(ctx context.Context, _ *volumev1alpha1.StatusRequest) (*volumev1alpha1.StatusResponse, error) {
	capacity, err := b.Capacity(ctx)
	resp := &volumev1alpha1.StatusResponse{}
	for _, c := range capacity {
		if c.Counted {
			caps := &volumev1alpha1.VolumeClassCapabilities{Tps: c.Capabilities.TPS().Value(), Iops: c.Capabilities.Name(commonv1alpha1.ResourceIOPS, "").Value()}
			resp.VolumeClassStatus = append(resp.VolumeClassStatus, &volumev1alpha1.VolumeClassStatus{VolumeClass: &volumev1alpha1.VolumeClass{Name: c.Name, Capabilities: caps}, Quantity: c.Quantity})
		}
	}
	return resp, err
}

func (b *Broker) WatchVolumes(req *volumev1alpha1.WatchVolumesRequest, stream grpc.ServerStreamingServer[volumev1alpha1.WatchVolumesEvent]) error {
	return common.ServeWatch(b.store, req.GetFilter(), req.GetSendInitialList(), stream)
}
