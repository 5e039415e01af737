package volume

import (
	"context"
	"fmt"
	"time"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

// CreateSnapshot takes a protected RBD snapshot of the volume's image and
// records it in the image's metadata. A retry with the same UID label
// returns the existing snapshot.
func (v *Volumes) CreateSnapshot(ctx context.Context, in *snapshot) (*snapshot, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("volume_snapshot is required")
	}
	if err := objstore.CheckNewMetadata(in.GetMetadata()); err != nil {
		return nil, err
	}
	volumeID := in.GetSpec().GetVolumeId()
	if err := objstore.CheckID("volume_snapshot.spec.volume_id", volumeID); err != nil {
		return nil, err
	}
	uid := in.GetMetadata().GetLabels()[labels.VolumeSnapshotUIDLabel]
	v.mu.Lock()
	defer v.mu.Unlock()
	if existing, ok := v.Snapshots.ByUID(uid); ok {
		return existing, nil
	}
	vol, ok := v.Index.Get(volumeID)
	if !ok {
		return nil, runtimeerr.NotFoundf("volume_snapshot.spec.volume_id: volume %s not found", volumeID)
	}
	id := objstore.NewID()
	image, snap := v.imageName(volumeID), v.snapName(id)
	rec := snapshotRecord{
		Labels: in.GetMetadata().GetLabels(), Annotations: in.GetMetadata().GetAnnotations(),
		CreatedAt: time.Now().UnixNano(), Size: vol.GetSpec().GetResources().GetStorageBytes(),
	}
	if err := v.b.CreateSnapshot(ctx, image, snap); err != nil {
		_ = v.b.RemoveSnapshot(context.WithoutCancel(ctx), image, snap)
		return nil, fmt.Errorf("creating snapshot %s@%s: %w", image, snap, err)
	}
	if err := v.b.SetMetadata(ctx, image, map[string]string{snapshotKey(id): marshal(rec)}); err != nil {
		if rerr := v.b.RemoveSnapshot(context.WithoutCancel(ctx), image, snap); rerr != nil {
			v.opts.Logger.Error(rerr, "Rolling back a failed snapshot left it behind; the orphan sweep removes it", "image", image, "snapshot", snap)
		}
		return nil, fmt.Errorf("recording snapshot %s on image %s: %w", id, image, err)
	}
	obj := v.snapshotObject(id, volumeID, rec)
	v.Snapshots.Put(obj, objstore.Normal("Created", "CreateSnapshot", "Created RBD snapshot "+image+"@"+snap),
		objstore.Normal("Ready", "CreateSnapshot", fmt.Sprintf("Snapshot of volume %s is ready", volumeID)))
	return obj, nil
}

func (v *Volumes) snapshotObject(id, volumeID string, rec snapshotRecord) *snapshot {
	return &snapshot{
		Metadata: rec.metadata(id),
		Spec:     &volumev1alpha1.VolumeSnapshotSpec{VolumeId: volumeID},
		Status:   &volumev1alpha1.VolumeSnapshotStatus{State: volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_READY, Size: rec.Size},
	}
}

// DeleteSnapshot removes the RBD snapshot and its record; a missing one is
// success. Volumes restored from it are flattened, so they do not hold it.
func (v *Volumes) DeleteSnapshot(ctx context.Context, id string) error {
	if err := objstore.CheckID("volume_snapshot_id", id); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.Snapshots.Get(id)
	if !ok {
		return nil
	}
	image, snap := v.imageName(s.GetSpec().GetVolumeId()), v.snapName(id)
	if err := v.b.RemoveSnapshot(ctx, image, snap); err != nil {
		return fmt.Errorf("removing snapshot %s@%s: %w", image, snap, err)
	}
	if err := v.b.RemoveMetadata(ctx, image, snapshotKey(id)); err != nil {
		return fmt.Errorf("removing the record of snapshot %s from image %s: %w", id, image, err)
	}
	v.Snapshots.Remove(id, objstore.Normal("Deleted", "DeleteSnapshot", "Deleted RBD snapshot "+image+"@"+snap))
	return nil
}
