package volumebroker

import (
	"context"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

func (b *Broker) Version(context.Context, *volumev1alpha1.VersionRequest) (*volumev1alpha1.VersionResponse, error) {
	return &volumev1alpha1.VersionResponse{RuntimeName: Name, RuntimeVersion: Version}, nil
}

func (b *Broker) ListVolumes(ctx context.Context, req *volumev1alpha1.ListVolumesRequest) (*volumev1alpha1.ListVolumesResponse, error) {
	items, err := b.store.List(ctx, req.GetFilter().GetId(), req.GetFilter().GetLabelSelector())
	if err != nil {
		return nil, err
	}
	return &volumev1alpha1.ListVolumesResponse{Volumes: items}, nil
}

func (b *Broker) ListEvents(ctx context.Context, req *volumev1alpha1.ListEventsRequest) (*volumev1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs, err := b.store.ListEvents(ctx, common.EventFilter{ID: f.GetId(), Selector: f.GetLabelSelector(), From: f.GetEventsFromTime(), To: f.GetEventsToTime()})
	if err != nil {
		return nil, err
	}
	return &volumev1alpha1.ListEventsResponse{Events: evs}, nil
}

func (b *Broker) CreateVolume(ctx context.Context, req *volumev1alpha1.CreateVolumeRequest) (*volumev1alpha1.CreateVolumeResponse, error) {
	v := req.GetVolume()
	if v == nil {
		return nil, common.Invalidf("volume is required")
	}
	spec := v.GetSpec()
	if spec == nil {
		return nil, common.Invalidf("volume.spec is required")
	}
	if spec.Class == "" {
		return nil, common.Invalidf("volume.spec.class is required; supported volume classes: %s", b.classNames(ctx))
	}
	var vc storagev1alpha1.VolumeClass
	if b.D.Cache.Get(ctx, client.ObjectKey{Name: spec.Class}, &vc) != nil {
		return nil, common.Invalidf("volume class %q is not supported; supported volume classes: %s", spec.Class, b.classNames(ctx))
	}
	if spec.GetResources().GetStorageBytes() <= 0 {
		return nil, common.Invalidf("volume.spec.resources.storage_bytes is required and must be positive")
	}
	if ds := spec.GetVolumeDataSource(); ds.GetSnapshotDataSource() != nil {
		return nil, status.Errorf(codes.Unimplemented, "volume.spec.volume_data_source.snapshot_data_source: the volume broker does not broker snapshots yet")
	}
	encrypted := spec.GetEncryption() != nil
	res, created, err := b.store.Create(ctx, v.GetMetadata(), common.CreateFuncs[*storagev1alpha1.Volume]{
		Build: func(id string, om metav1.ObjectMeta) (*storagev1alpha1.Volume, error) {
			dv := &storagev1alpha1.Volume{ObjectMeta: om}
			dv.Spec.VolumeClassRef = &commonv1alpha1.LocalObjectReference{Name: spec.Class}
			dv.Spec.Resources = storageList(spec.Resources.StorageBytes)
			if b.opts.PoolName != "" {
				dv.Spec.VolumePoolRef = &commonv1alpha1.LocalObjectReference{Name: b.opts.PoolName}
			}
			if len(b.opts.PoolSelector) > 0 {
				dv.Spec.VolumePoolSelector = b.opts.PoolSelector
			}
			if img := spec.GetVolumeDataSource().GetImageDataSource(); img != nil {
				src := &storagev1alpha1.OSDataSource{Image: img.Image}
				if img.Architecture != "" {
					arch := img.Architecture
					src.Architecture = &arch
				}
				dv.Spec.DataSource.OSImage = src
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
			if err := b.store.CreateSub(ctx, s); err != nil {
				return err
			}
			b.WaitCached(ctx, s)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if created {
		res.Spec = proto.Clone(spec).(*volumev1alpha1.VolumeSpec)
	}
	return &volumev1alpha1.CreateVolumeResponse{Volume: res}, nil
}

func (b *Broker) ExpandVolume(ctx context.Context, req *volumev1alpha1.ExpandVolumeRequest) (*volumev1alpha1.ExpandVolumeResponse, error) {
	n := req.GetResources().GetStorageBytes()
	if n <= 0 {
		return nil, common.Invalidf("resources.storage_bytes is required and must be positive")
	}
	err := b.store.Update(ctx, req.GetVolumeId(), func(cur *storagev1alpha1.Volume) (map[string]any, error) {
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
	if err := b.store.Delete(ctx, req.GetVolumeId()); err != nil {
		return nil, err
	}
	return &volumev1alpha1.DeleteVolumeResponse{}, nil
}

// Status sums the capacity (bytes) of the Ready downstream volume pools the
// broker may schedule onto, per class.
// Unavailable while the downstream is unreachable (see machinebroker).
func (b *Broker) Status(ctx context.Context, _ *volumev1alpha1.StatusRequest) (*volumev1alpha1.StatusResponse, error) {
	if err := b.D.Unreachable(); err != nil {
		return nil, err
	}
	var pools storagev1alpha1.VolumePoolList
	var opts []client.ListOption
	if len(b.opts.PoolSelector) > 0 {
		opts = append(opts, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(b.opts.PoolSelector)})
	}
	if err := b.D.Cache.List(ctx, &pools, opts...); err != nil {
		return nil, b.D.ToStatus("list volume pools", err)
	}
	quantity := map[string]int64{}
	for _, p := range pools.Items {
		if (b.opts.PoolName != "" && p.Name != b.opts.PoolName) || !conditions.IsTrue(p.Status.Conditions, conditions.VolumePool, commonv1alpha1.ConditionTypeReady) {
			continue
		}
		for name, q := range p.Status.Capacity {
			if t, class, ok := commonv1alpha1.ParseClassCount(name); ok && t == commonv1alpha1.ClassTypeVolumeClass {
				quantity[class] += q.Value()
			}
		}
	}
	var classes storagev1alpha1.VolumeClassList
	if err := b.D.Cache.List(ctx, &classes); err != nil {
		return nil, b.D.ToStatus("list volume classes", err)
	}
	resp := &volumev1alpha1.StatusResponse{}
	for _, c := range classes.Items {
		q, ok := quantity[c.Name]
		if !ok {
			continue
		}
		caps := &volumev1alpha1.VolumeClassCapabilities{Tps: c.Capabilities.TPS().Value(), Iops: c.Capabilities.Name(commonv1alpha1.ResourceIOPS, "").Value()}
		resp.VolumeClassStatus = append(resp.VolumeClassStatus, &volumev1alpha1.VolumeClassStatus{VolumeClass: &volumev1alpha1.VolumeClass{Name: c.Name, Capabilities: caps}, Quantity: q})
	}
	sort.Slice(resp.VolumeClassStatus, func(i, j int) bool {
		return resp.VolumeClassStatus[i].VolumeClass.Name < resp.VolumeClassStatus[j].VolumeClass.Name
	})
	return resp, nil
}

func (b *Broker) WatchVolumes(req *volumev1alpha1.WatchVolumesRequest, stream grpc.ServerStreamingServer[volumev1alpha1.WatchVolumesEvent]) error {
	var seq uint64
	f := req.GetFilter()
	return b.store.Hub.Watch(stream.Context(), f.GetId(), f.GetLabelSelector(), req.GetSendInitialList(), func(t common.EventType, v *volumev1alpha1.Volume) error {
		seq++
		ev := &volumev1alpha1.WatchVolumesEvent{Sequence: seq, Object: v}
		switch t {
		case common.Added:
			ev.Type = volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_ADDED
		case common.Modified:
			ev.Type = volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_MODIFIED
		case common.Deleted:
			ev.Type = volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_DELETED
		case common.Bookmark:
			ev.Type, ev.Object = volumev1alpha1.WatchEventType_VOLUME_WATCH_EVENT_BOOKMARK, nil
		}
		return stream.Send(ev)
	})
}

func (b *Broker) classNames(ctx context.Context) string {
	var list storagev1alpha1.VolumeClassList
	if err := b.D.Cache.List(ctx, &list); err != nil || len(list.Items) == 0 {
		return "(none)"
	}
	names := make([]string, 0, len(list.Items))
	for _, c := range list.Items {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// Snapshots are not brokered yet: there are none to list or delete, and
// creating one is Unimplemented.
func (b *Broker) ListVolumeSnapshots(context.Context, *volumev1alpha1.ListVolumeSnapshotsRequest) (*volumev1alpha1.ListVolumeSnapshotsResponse, error) {
	return &volumev1alpha1.ListVolumeSnapshotsResponse{}, nil
}

func (b *Broker) DeleteVolumeSnapshot(context.Context, *volumev1alpha1.DeleteVolumeSnapshotRequest) (*volumev1alpha1.DeleteVolumeSnapshotResponse, error) {
	return &volumev1alpha1.DeleteVolumeSnapshotResponse{}, nil
}

func (b *Broker) CreateVolumeSnapshot(context.Context, *volumev1alpha1.CreateVolumeSnapshotRequest) (*volumev1alpha1.CreateVolumeSnapshotResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "CreateVolumeSnapshot: the volume broker does not broker snapshots yet")
}
