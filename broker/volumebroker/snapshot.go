package volumebroker

import (
	"bytes"
	"context"
	"maps"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// A brokered snapshot is a downstream VolumeSnapshot named by its IRI id, of the downstream Volume
// named by the IRI volume id; the downstream volumepoollet takes it in its runtime.
type snapshotStore = common.Store[*storagev1alpha1.VolumeSnapshot, *volumev1alpha1.VolumeSnapshot]

func newSnapshotStore(s *store) (*snapshotStore, error) {
	return common.NewCompanion(s, labels.VolumeSnapshot, common.Adapter[*storagev1alpha1.VolumeSnapshot, *volumev1alpha1.VolumeSnapshot]{
		List: &storagev1alpha1.VolumeSnapshotList{}, ToIRI: snapshotToIRI,
	})
}

var snapshotStateToIRI = map[storagev1alpha1.VolumeSnapshotState]volumev1alpha1.VolumeSnapshotState{
	storagev1alpha1.VolumeSnapshotStateReady:  volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_READY,
	storagev1alpha1.VolumeSnapshotStateFailed: volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_FAILED,
}

func snapshotToIRI(_ *common.Broker, s *storagev1alpha1.VolumeSnapshot) (*volumev1alpha1.VolumeSnapshot, error) {
	out := &volumev1alpha1.VolumeSnapshot{
		Metadata: common.IRIMetadata(s),
		Spec:     &volumev1alpha1.VolumeSnapshotSpec{},
		Status:   &volumev1alpha1.VolumeSnapshotStatus{State: snapshotStateToIRI[s.Status.State]},
	}
	if s.Spec.VolumeRef != nil {
		out.Spec.VolumeId = s.Spec.VolumeRef.Name
	}
	if s.Status.Size != nil {
		out.Status.Size = s.Status.Size.Value()
	}
	return out, nil
}

func (b *Broker) snapshotsOrUnimplemented() (*snapshotStore, error) {
	if b.snaps == nil {
		return nil, status.Error(codes.Unimplemented, "this volume broker serves no snapshots")
	}
	return b.snaps, nil
}

// CreateVolumeSnapshot snapshots a brokered volume; a retry with the same poollet UID label
// returns the snapshot created first.
func (b *Broker) CreateVolumeSnapshot(ctx context.Context, req *volumev1alpha1.CreateVolumeSnapshotRequest) (*volumev1alpha1.CreateVolumeSnapshotResponse, error) {
	snaps, err := b.snapshotsOrUnimplemented()
	if err != nil {
		return nil, err
	}
	in := req.GetVolumeSnapshot()
	spec, err := common.SpecOf(in, "volume_snapshot")
	if err != nil {
		return nil, err
	}
	volumeID := spec.GetVolumeId()
	if volumeID == "" {
		return nil, common.Invalidf("volume_snapshot.spec.volume_id is required")
	}
	if _, err := b.Get(ctx, volumeID); err != nil {
		return nil, err // NotFound names the volume
	}
	res, _, err := snaps.Create(ctx, in.GetMetadata(), common.CreateFuncs[*storagev1alpha1.VolumeSnapshot]{
		Classless: true,
		Build: func(_ string, om metav1.ObjectMeta) (*storagev1alpha1.VolumeSnapshot, error) {
			return &storagev1alpha1.VolumeSnapshot{ObjectMeta: om, Spec: storagev1alpha1.VolumeSnapshotSpec{
				VolumeRef: &commonv1alpha1.LocalObjectReference{Name: volumeID},
			}}, nil
		},
	})
	return &volumev1alpha1.CreateVolumeSnapshotResponse{VolumeSnapshot: res}, err
}

func (b *Broker) ListVolumeSnapshots(ctx context.Context, req *volumev1alpha1.ListVolumeSnapshotsRequest) (*volumev1alpha1.ListVolumeSnapshotsResponse, error) {
	snaps, err := b.snapshotsOrUnimplemented()
	if err != nil {
		return nil, err
	}
	resp := &volumev1alpha1.ListVolumeSnapshotsResponse{}
	return resp, snaps.Answer(ctx, req.GetFilter(), resp)
}

func (b *Broker) DeleteVolumeSnapshot(ctx context.Context, req *volumev1alpha1.DeleteVolumeSnapshotRequest) (*volumev1alpha1.DeleteVolumeSnapshotResponse, error) {
	snaps, err := b.snapshotsOrUnimplemented()
	if err != nil {
		return nil, err
	}
	return &volumev1alpha1.DeleteVolumeSnapshotResponse{}, snaps.Delete(ctx, req.GetVolumeSnapshotId())
}

// restoreSource checks the snapshot a new volume restores and returns the downstream pool holding
// it ("" when not known yet): the restored volume must be placed there. The restore must be
// encrypted as the snapshot's volume is, with its key: refused here when that volume is known,
// rather than left to fail two levels down after the create was answered.
func (b *Broker) restoreSource(ctx context.Context, snapshotID string, enc *volumev1alpha1.EncryptionSpec) (string, error) {
	snaps, err := b.snapshotsOrUnimplemented()
	if err != nil {
		return "", err
	}
	if snapshotID == "" {
		return "", common.Invalidf("volume.spec.volume_data_source.snapshot_data_source.snapshot_id is required")
	}
	s, err := snaps.Get(ctx, snapshotID)
	if err != nil {
		return "", err
	}
	if s.Spec.VolumeRef != nil {
		src, err := b.Get(ctx, s.Spec.VolumeRef.Name)
		if status.Code(err) != codes.NotFound && err != nil {
			return "", err
		}
		if err == nil {
			var have map[string][]byte
			if src.Spec.Encryption != nil {
				if have, err = b.SecretDataLive(ctx, src.Spec.Encryption.SecretRef.Name); err != nil {
					return "", err
				}
			}
			if err := checkRestoreKey(snapshotID, src.Spec.Encryption != nil, have, enc); err != nil {
				return "", err
			}
		}
	}
	return s.Labels[storagev1alpha1.VolumeSnapshotPoolLabel], nil
}

// checkRestoreKey: a restore carries exactly the encryption of its snapshot's volume (the key
// have when encrypted).
func checkRestoreKey(snapshotID string, encrypted bool, have map[string][]byte, want *volumev1alpha1.EncryptionSpec) error {
	switch {
	case encrypted && want == nil:
		return status.Errorf(codes.FailedPrecondition, "volume snapshot %s is of an encrypted volume: restore it with volume.spec.encryption carrying that volume's key", snapshotID)
	case !encrypted && want != nil:
		return status.Errorf(codes.FailedPrecondition, "volume snapshot %s is of an unencrypted volume, and its data cannot be encrypted in place: restore it without volume.spec.encryption", snapshotID)
	case encrypted && !maps.EqualFunc(have, want.GetSecretData(), bytes.Equal):
		return status.Errorf(codes.FailedPrecondition, "volume.spec.encryption does not hold the key of the volume snapshot %s was taken of: restore it with that key", snapshotID)
	}
	return nil
}
