package memory

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"sync"

	"google.golang.org/protobuf/proto"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

type (
	volume   = volumev1alpha1.Volume
	snapshot = volumev1alpha1.VolumeSnapshot
)

// VolumeDriver is the driver name in the access info of memory volumes.
const VolumeDriver = "memory"

// Keys of a volume's access secret_data, as Ceph RBD volumes carry them.
const (
	VolumeUserID  = "userID"
	VolumeUserKey = "userKey"
)

// VolumeCredentials returns the deterministic access credentials of the volume id:
// userID "memory-<first 16 id characters>" and a 64-hex-character userKey derived from the id.
func VolumeCredentials(id string) map[string][]byte {
	short := id
	if len(short) > 16 {
		short = short[:16]
	}
	sum := sha256.Sum256([]byte("ironfed memory volume key\x00" + id))
	return map[string][]byte{
		VolumeUserID:  []byte("memory-" + short),
		VolumeUserKey: []byte(hex.EncodeToString(sum[:])),
	}
}

// Volumes is the volume runtime's domain: volumes and their snapshots, which
// share one event log.
type Volumes struct {
	*Store[*volume]
	Snapshots *Store[*snapshot]
	classes   []VolumeClass
	byName    map[string]VolumeClass

	keysMu sync.Mutex
	// snapshotKeys holds, per snapshot of an encrypted volume, that volume's encryption secret
	// data: its data stays encrypted with it, so a restore must carry the same.
	snapshotKeys map[string]map[string][]byte
}

func newVolumes(cfg Config, events *EventLog) *Volumes {
	v := &Volumes{classes: cfg.VolumeClasses, byName: map[string]VolumeClass{}, snapshotKeys: map[string]map[string][]byte{}}
	capacity := map[string]int64{}
	for _, c := range cfg.VolumeClasses {
		v.byName[c.Name] = c
		capacity[c.Name] = c.CapacityBytes
	}
	v.Store = newStore(kindOps[*volume]{
		kind:     "volume",
		idField:  "volume_id",
		uidLabel: labels.VolumeUIDLabel,
		class: func(o *volume) (string, int64) {
			return o.GetSpec().GetClass(), o.GetSpec().GetResources().GetStorageBytes()
		},
		settle:    settleVolume,
		terminate: func(*volume) {}, // volumes have no terminating state; deleted_at tells
	}, cfg, events, capacity)
	v.Snapshots = newStore(kindOps[*snapshot]{
		kind:      "volume snapshot",
		idField:   "volume_snapshot_id",
		uidLabel:  labels.VolumeSnapshotUIDLabel,
		class:     func(*snapshot) (string, int64) { return "", 0 },
		settle:    settleSnapshot,
		terminate: func(*snapshot) {},
	}, cfg, events, nil)
	return v
}

// Create creates a volume from in (which it does not keep) and returns a
// copy. A volume whose poollet UID label matches an existing volume's is
// that volume.
func (v *Volumes) Create(in *volume) (*volume, error) {
	obj, err := v.create(in)
	if err != nil {
		return nil, err
	}
	return clone(obj), nil
}

func (v *Volumes) create(in *volume) (*volume, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("volume is required")
	}
	if err := checkNewMetadata(in.GetMetadata()); err != nil {
		return nil, err
	}
	spec := in.GetSpec()
	if spec == nil {
		return nil, runtimeerr.Invalidf("volume.spec is required")
	}
	if spec.Class == "" {
		return nil, runtimeerr.Invalidf("volume.spec.class is required; supported volume classes: %s", v.classNames())
	}
	if _, ok := v.byName[spec.Class]; !ok {
		return nil, runtimeerr.Invalidf("volume class %q is not supported; supported volume classes: %s", spec.Class, v.classNames())
	}
	if spec.GetResources().GetStorageBytes() <= 0 {
		return nil, runtimeerr.Invalidf("volume.spec.resources.storage_bytes is required and must be positive")
	}
	ds := spec.GetVolumeDataSource()
	if ds.GetImageDataSource() != nil && ds.GetSnapshotDataSource() != nil {
		return nil, runtimeerr.Invalidf("volume.spec.volume_data_source must set at most one of image_data_source and snapshot_data_source")
	}
	if src := ds.GetSnapshotDataSource(); src != nil {
		snap, err := v.Snapshots.get(src.SnapshotId)
		if err != nil {
			return nil, fmt.Errorf("volume_data_source.snapshot_data_source: %w", err)
		}
		if size := snap.GetStatus().GetSize(); spec.Resources.StorageBytes < size {
			return nil, runtimeerr.Invalidf("volume of %d bytes is smaller than its source snapshot %s (%d bytes)", spec.Resources.StorageBytes, src.SnapshotId, size)
		}
		if err := v.checkRestoreKey(src.SnapshotId, spec.GetEncryption().GetSecretData()); err != nil {
			return nil, err
		}
	}
	obj := &volume{
		Metadata: newMetadata(in.GetMetadata()),
		Spec:     proto.Clone(spec).(*volumev1alpha1.VolumeSpec),
		Status:   &volumev1alpha1.VolumeStatus{State: volumev1alpha1.VolumeState_VOLUME_PENDING},
	}
	return v.Store.create(obj)
}

func (v *Volumes) classNames() string {
	names := make([]string, 0, len(v.classes))
	for _, c := range v.classes {
		names = append(names, c.Name)
	}
	return joinOrNone(names)
}

// Expand grows the volume to storageBytes; shrinking is InvalidArgument and
// growing beyond the class's capacity ResourceExhausted.
func (v *Volumes) Expand(id string, storageBytes int64) error {
	_, err := v.update(id, func(o *volume) (bool, error) {
		cur := o.Spec.GetResources().GetStorageBytes()
		switch {
		case storageBytes < cur:
			return false, runtimeerr.Invalidf("volume %s has %d bytes; it can only grow, not shrink to %d bytes", id, cur, storageBytes)
		case storageBytes == cur:
			return false, nil
		}
		o.Spec.Resources = &volumev1alpha1.VolumeResources{StorageBytes: storageBytes}
		return true, nil
	})
	return err
}

// Status reports every volume class with its total capacity in bytes.
func (v *Volumes) Status() []*volumev1alpha1.VolumeClassStatus {
	out := make([]*volumev1alpha1.VolumeClassStatus, 0, len(v.classes))
	for _, c := range v.classes {
		out = append(out, &volumev1alpha1.VolumeClassStatus{
			VolumeClass: &volumev1alpha1.VolumeClass{
				Name:         c.Name,
				Capabilities: &volumev1alpha1.VolumeClassCapabilities{Tps: c.TPS, Iops: c.IOPS},
			},
			Quantity: c.CapacityBytes,
		})
	}
	return out
}

// CreateSnapshot snapshots the volume spec.volume_id names; the snapshot's
// size is the volume's at that moment.
func (v *Volumes) CreateSnapshot(in *snapshot) (*snapshot, error) {
	obj, err := v.createSnapshot(in)
	if err != nil {
		return nil, err
	}
	return clone(obj), nil
}

func (v *Volumes) createSnapshot(in *snapshot) (*snapshot, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("volume_snapshot is required")
	}
	if err := checkNewMetadata(in.GetMetadata()); err != nil {
		return nil, err
	}
	volumeID := in.GetSpec().GetVolumeId()
	if volumeID == "" {
		return nil, runtimeerr.Invalidf("volume_snapshot.spec.volume_id is required")
	}
	vol, err := v.get(volumeID)
	if err != nil {
		return nil, fmt.Errorf("volume_snapshot.spec.volume_id: %w", err)
	}
	obj := &snapshot{
		Metadata: newMetadata(in.GetMetadata()),
		Spec:     &volumev1alpha1.VolumeSnapshotSpec{VolumeId: volumeID},
		Status: &volumev1alpha1.VolumeSnapshotStatus{
			State: volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_PENDING,
			Size:  vol.GetSpec().GetResources().GetStorageBytes(),
		},
	}
	created, err := v.Snapshots.create(obj)
	if err == nil && vol.GetSpec().GetEncryption() != nil {
		v.keysMu.Lock()
		v.snapshotKeys[created.GetMetadata().GetId()] = maps.Clone(vol.GetSpec().GetEncryption().GetSecretData())
		v.keysMu.Unlock()
	}
	return created, err
}

// DeleteSnapshot deletes the snapshot; a missing one is success.
func (v *Volumes) DeleteSnapshot(id string) error {
	if err := v.Snapshots.Delete(id); err != nil {
		return err
	}
	v.keysMu.Lock()
	delete(v.snapshotKeys, id)
	v.keysMu.Unlock()
	return nil
}

// checkRestoreKey enforces that a restore is encrypted exactly as its snapshot's volume was: the
// restored data is that volume's, encrypted with its key, and cannot be encrypted in place.
func (v *Volumes) checkRestoreKey(snapshotID string, key map[string][]byte) error {
	v.keysMu.Lock()
	want, encrypted := v.snapshotKeys[snapshotID]
	v.keysMu.Unlock()
	switch {
	case encrypted && key == nil:
		return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume snapshot %s is of an encrypted volume: restore it with volume.spec.encryption carrying that volume's key", snapshotID)
	case !encrypted && key != nil:
		return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume snapshot %s is of an unencrypted volume, and its data cannot be encrypted in place: restore it without volume.spec.encryption", snapshotID)
	case encrypted && !maps.EqualFunc(want, key, bytes.Equal):
		return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume.spec.encryption does not hold the key of the volume snapshot %s was taken of: restore it with that key", snapshotID)
	}
	return nil
}

func settleVolume(o *volume) (bool, []eventRecord) {
	st := o.Status
	size := o.Spec.GetResources().GetStorageBytes()
	changed := false
	var evs []eventRecord
	if st.State != volumev1alpha1.VolumeState_VOLUME_AVAILABLE {
		st.State, changed = volumev1alpha1.VolumeState_VOLUME_AVAILABLE, true
		st.Access = &volumev1alpha1.VolumeAccess{
			Driver:     VolumeDriver,
			Handle:     o.Metadata.Id,
			Attributes: map[string]string{"class": o.Spec.Class},
			SecretData: VolumeCredentials(o.Metadata.Id),
		}
		evs = append(evs, normal("Available", "Create", fmt.Sprintf("Volume of %d bytes is available", size)))
	}
	if old := st.GetResources().GetStorageBytes(); old != size {
		st.Resources, changed = &volumev1alpha1.VolumeResources{StorageBytes: size}, true
		st.Access.Attributes["size"] = strconv.FormatInt(size, 10)
		if old != 0 {
			evs = append(evs, normal("Expanded", "Expand", fmt.Sprintf("Volume expanded from %d to %d bytes", old, size)))
		}
	}
	return changed, evs
}

func settleSnapshot(o *snapshot) (bool, []eventRecord) {
	if o.Status.State == volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_READY {
		return false, nil
	}
	o.Status.State = volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_READY
	return true, []eventRecord{normal("Ready", "CreateSnapshot", fmt.Sprintf("Snapshot of volume %s is ready", o.Spec.VolumeId))}
}
