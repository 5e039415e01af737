package conformance

import (
	"context"
	"slices"
	"strconv"

	"google.golang.org/grpc/codes"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

type snapshot = volumev1alpha1.VolumeSnapshot

func volumeCases() []Case {
	return []Case{
		{Volume, "status-classes", caseVolumeStatus},
		{Volume, "access", caseVolumeAccess},
		{Volume, "expand", caseVolumeExpand},
		{Volume, "snapshots", caseVolumeSnapshots},
		{Volume, "snapshot-encryption", caseVolumeSnapshotEncryption},
	}
}

func caseVolumeStatus(ctx context.Context, c *C) {
	resp, err := c.Volume().Status(ctx, &volumev1alpha1.StatusRequest{})
	if err != nil {
		c.Fatalf("Status: %v", err)
	}
	if len(resp.GetVolumeClassStatus()) == 0 {
		c.Fatalf("Status reports no volume class")
	}
	for _, s := range resp.GetVolumeClassStatus() {
		vc := s.GetVolumeClass()
		if vc.GetName() == "" {
			c.Errorf("Status reports a volume class without a name")
		}
		if caps := vc.GetCapabilities(); caps == nil || caps.GetTps() < 0 || caps.GetIops() < 0 || caps.GetTps()+caps.GetIops() == 0 {
			c.Errorf("volume class %q has capabilities %v; want tps and iops set", vc.GetName(), caps)
		}
		if s.GetQuantity() <= 0 {
			c.Errorf("volume class %q: quantity %d, want > 0 bytes", vc.GetName(), s.GetQuantity())
		}
	}
}

func newV(ctx context.Context, c *C) *volume {
	v, err := volumeAPI().create(ctx, c, c.Labels())
	if err != nil {
		c.Fatalf("CreateVolume: %v", err)
	}
	return v
}

func caseVolumeAccess(ctx context.Context, c *C) {
	id := newV(ctx, c).GetMetadata().GetId()
	v := waitReady(ctx, c, volumeAPI(), id)
	acc := v.GetStatus().GetAccess()
	if acc.GetDriver() == "" || acc.GetHandle() == "" {
		c.Errorf("available volume has access %v; want driver and handle", acc)
	}
	if got, want := v.GetStatus().GetResources().GetStorageBytes(), c.volumeSize(ctx); got < want {
		c.Errorf("available volume has status.resources.storage_bytes %d, want at least the requested %d", got, want)
	}
}

func caseVolumeExpand(ctx context.Context, c *C) {
	api := volumeAPI()
	id := newV(ctx, c).GetMetadata().GetId()
	waitReady(ctx, c, api, id)
	size := c.volumeSize(ctx)
	expand := func(to int64) error {
		_, err := c.Volume().ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: id, Resources: &volumev1alpha1.VolumeResources{StorageBytes: to}})
		return err
	}
	if err := expand(2 * size); err != nil {
		c.Fatalf("ExpandVolume to %d bytes: %v", 2*size, err)
	}
	waitFor(ctx, c, api, id, "to grow", func(v *volume) (bool, string) {
		got := v.GetStatus().GetResources().GetStorageBytes()
		return got >= 2*size, "status.resources.storage_bytes " + strconv.FormatInt(got, 10)
	})
	checkCode(c, "shrinking a volume", expand(size), codes.InvalidArgument)
	checkCode(c, "expanding without resources", func() error {
		_, err := c.Volume().ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: id})
		return err
	}(), codes.InvalidArgument)
}

func createSnapshot(ctx context.Context, c *C, volumeID string, lbls map[string]string) (*snapshot, error) {
	resp, err := c.Volume().CreateVolumeSnapshot(ctx, &volumev1alpha1.CreateVolumeSnapshotRequest{VolumeSnapshot: &snapshot{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: lbls, Annotations: map[string]string{CaseAnnotation: c.Name()}},
		Spec:     &volumev1alpha1.VolumeSnapshotSpec{VolumeId: volumeID},
	}})
	return resp.GetVolumeSnapshot(), err
}

func listSnapshots(ctx context.Context, c *C, id string, sel map[string]string) []*snapshot {
	resp, err := c.Volume().ListVolumeSnapshots(ctx, &volumev1alpha1.ListVolumeSnapshotsRequest{
		Filter: &volumev1alpha1.VolumeSnapshotFilter{Id: id, LabelSelector: sel},
	})
	if err != nil {
		c.Fatalf("ListVolumeSnapshots: %v", err)
	}
	return resp.GetVolumeSnapshots()
}

func deleteSnapshot(ctx context.Context, c *C, id string) error {
	_, err := c.Volume().DeleteVolumeSnapshot(ctx, &volumev1alpha1.DeleteVolumeSnapshotRequest{VolumeSnapshotId: id})
	return err
}

func caseVolumeSnapshots(ctx context.Context, c *C) {
	vol := newV(ctx, c).GetMetadata().GetId()
	waitReady(ctx, c, volumeAPI(), vol)
	lbls := c.Labels(labels.VolumeSnapshotUIDLabel, c.UID("snap"))
	snap, err := createSnapshot(ctx, c, vol, lbls)
	if err != nil {
		c.Fatalf("CreateVolumeSnapshot: %v", err)
	}
	id := snap.GetMetadata().GetId()
	if id == "" || snap.GetSpec().GetVolumeId() != vol {
		c.Fatalf("CreateVolumeSnapshot answered id %q, volume_id %q", id, snap.GetSpec().GetVolumeId())
	}
	if again, err := createSnapshot(ctx, c, vol, lbls); err != nil || again.GetMetadata().GetId() != id {
		c.Errorf("retried snapshot create with the same UID label: %v, id %q; want the existing %s", err, again.GetMetadata().GetId(), id)
	}
	if got := listSnapshots(ctx, c, "", c.Labels()); !slices.Equal(snapshotIDs(got), []string{id}) {
		c.Errorf("listing snapshots by the run label: %v, want [%s]", snapshotIDs(got), id)
	}
	if got := listSnapshots(ctx, c, unknownID(id), nil); len(got) != 0 {
		c.Errorf("listing snapshots by an unknown id returned %v", snapshotIDs(got))
	}
	waitSnapshotReady(ctx, c, id)

	restored, err := c.newVolume(ctx, c.Labels())
	if err != nil {
		c.Fatalf("%v", err)
	}
	restored.Spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: id}}
	if r, err := c.createVolume(ctx, restored); err != nil {
		c.Errorf("creating a volume from snapshot %s: %v", id, err)
	} else {
		waitReady(ctx, c, volumeAPI(), r.GetMetadata().GetId())
	}

	_, err = createSnapshot(ctx, c, unknownID(vol), c.Labels())
	checkCode(c, "snapshot of an unknown volume", err, codes.NotFound, codes.InvalidArgument, codes.FailedPrecondition)
	if err := deleteSnapshot(ctx, c, id); err != nil {
		c.Fatalf("DeleteVolumeSnapshot: %v", err)
	}
	c.Eventually(ctx, "snapshot "+id+" to disappear", func() (bool, string) {
		return len(listSnapshots(ctx, c, id, nil)) == 0, "still listed"
	})
	if err := deleteSnapshot(ctx, c, id); err != nil {
		c.Errorf("deleting snapshot %s again: %v; want success", id, err)
	}
}

func waitSnapshotReady(ctx context.Context, c *C, id string) {
	c.Eventually(ctx, "snapshot "+id+" to become ready", func() (bool, string) {
		got := listSnapshots(ctx, c, id, nil)
		if len(got) != 1 {
			return false, "listed " + strconv.Itoa(len(got)) + " snapshots"
		}
		st := got[0].GetStatus().GetState()
		return st == volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_READY, "state " + st.String()
	})
}

// caseVolumeSnapshotEncryption: a snapshot's data stays encrypted with its volume's key, so a
// restore is encrypted exactly as that volume was and with its key; anything else is refused
// when it is created (FailedPrecondition), not left to fail later.
func caseVolumeSnapshotEncryption(ctx context.Context, c *C) {
	key := &volumev1alpha1.EncryptionSpec{SecretData: map[string][]byte{"encryptionKey": []byte("conformance-" + c.UID("key"))}}
	other := &volumev1alpha1.EncryptionSpec{SecretData: map[string][]byte{"encryptionKey": []byte("conformance-other-" + c.UID("key"))}}
	// A LUKS2 header takes 16 MiB of the volume (Ceph RBD).
	size := max(c.volumeSize(ctx), 64<<20)
	snapshotOf := func(enc *volumev1alpha1.EncryptionSpec, name string) string {
		v, err := c.newVolume(ctx, c.Labels())
		if err != nil {
			c.Fatalf("%v", err)
		}
		v.Spec.Resources.StorageBytes, v.Spec.Encryption = size, enc
		created, err := c.createVolume(ctx, v)
		if err != nil {
			c.Fatalf("CreateVolume (%s): %v", name, err)
		}
		waitReady(ctx, c, volumeAPI(), created.GetMetadata().GetId())
		snap, err := createSnapshot(ctx, c, created.GetMetadata().GetId(), c.Labels(labels.VolumeSnapshotUIDLabel, c.UID(name)))
		if err != nil {
			c.Fatalf("CreateVolumeSnapshot (%s): %v", name, err)
		}
		waitSnapshotReady(ctx, c, snap.GetMetadata().GetId())
		return snap.GetMetadata().GetId()
	}
	restore := func(snapshotID string, enc *volumev1alpha1.EncryptionSpec) (*volume, error) {
		r, err := c.newVolume(ctx, c.Labels())
		if err != nil {
			c.Fatalf("%v", err)
		}
		r.Spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: snapshotID}}
		r.Spec.Resources.StorageBytes, r.Spec.Encryption = size, enc
		return c.createVolume(ctx, r)
	}

	encrypted := snapshotOf(key, "encrypted")
	_, err := restore(encrypted, nil)
	checkCode(c, "restoring a snapshot of an encrypted volume without encryption", err, codes.FailedPrecondition)
	_, err = restore(encrypted, other)
	checkCode(c, "restoring a snapshot of an encrypted volume with another key", err, codes.FailedPrecondition)
	if r, err := restore(encrypted, key); err != nil {
		c.Errorf("restoring a snapshot of an encrypted volume with its key: %v", err)
	} else {
		waitReady(ctx, c, volumeAPI(), r.GetMetadata().GetId())
	}

	plain := snapshotOf(nil, "plain")
	_, err = restore(plain, key)
	checkCode(c, "restoring a snapshot of an unencrypted volume with encryption", err, codes.FailedPrecondition)
}

func snapshotIDs(s []*snapshot) []string {
	out := make([]string, 0, len(s))
	for _, x := range s {
		out = append(out, x.GetMetadata().GetId())
	}
	return out
}

// deleteAllSnapshots is the volume cases' cleanup for snapshots.
func deleteAllSnapshots(ctx context.Context, c *C) {
	resp, err := c.Volume().ListVolumeSnapshots(ctx, &volumev1alpha1.ListVolumeSnapshotsRequest{
		Filter: &volumev1alpha1.VolumeSnapshotFilter{LabelSelector: c.Labels()},
	})
	if err != nil {
		c.Errorf("cleanup: listing snapshots of this run: %v", err)
		return
	}
	for _, s := range resp.GetVolumeSnapshots() {
		if err := deleteSnapshot(ctx, c, s.GetMetadata().GetId()); err != nil {
			c.Errorf("cleanup: deleting snapshot %s: %v", s.GetMetadata().GetId(), err)
		}
	}
}
