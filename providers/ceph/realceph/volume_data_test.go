package realceph

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/localceph"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/ceph/volume"
)

const mi = int64(1) << 20

func newVolume(t *testing.T, v *volume.Volumes, size int64, mutate ...func(*volumev1alpha1.Volume)) *volumev1alpha1.Volume {
	t.Helper()
	in := &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"test": t.Name()}},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: size}},
	}
	for _, m := range mutate {
		m(in)
	}
	obj, err := v.Create(t.Context(), in)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return obj
}

func imageOf(t *testing.T, obj *volumev1alpha1.Volume) string {
	t.Helper()
	_, image, ok := strings.Cut(obj.GetStatus().GetAccess().GetHandle(), "/")
	if !ok {
		t.Fatalf("handle %q is not pool/image", obj.GetStatus().GetAccess().GetHandle())
	}
	return image
}

func code(err error) codes.Code { return status.Code(runtimeerr.ToStatus(err)) }

// TestVolumeDataPath proves a volume from the far end: bytes written to the
// RBD image come back through librbd, survive a snapshot restore, the image
// grows, never shrinks, carries QoS and is gone after delete.
func TestVolumeDataPath(t *testing.T) {
	v, conn := openVolumes(t)
	ctx := t.Context()
	vol := newVolume(t, v, 64*mi)
	id, image := vol.GetMetadata().GetId(), imageOf(t, vol)

	acc := vol.GetStatus().GetAccess()
	if acc.GetDriver() != "ceph" || acc.GetHandle() != "rbd/"+image || acc.GetAttributes()["image"] != acc.GetHandle() ||
		acc.GetAttributes()["monitors"] != localceph.MonAddr || len(acc.GetAttributes()["wwn"]) != 32 {
		t.Errorf("access = driver %q handle %q attributes %v", acc.GetDriver(), acc.GetHandle(), acc.GetAttributes())
	}
	if string(acc.GetSecretData()["userID"]) != "ironfed-rbd" || len(acc.GetSecretData()["userKey"]) == 0 {
		t.Errorf("access secret has userID %q and a userKey of %d bytes; want ironfed-rbd and a key", acc.GetSecretData()["userID"], len(acc.GetSecretData()["userKey"]))
	}
	caps, err := conn.UserCaps(ctx, "client.ironfed-rbd")
	if err != nil || !strings.Contains(caps, "profile rbd pool=rbd") {
		t.Errorf("caps of client.ironfed-rbd: %s, %v; want osd 'profile rbd pool=rbd'", caps, err)
	}
	md, err := conn.Metadata(ctx, image)
	if err != nil || md["conf_rbd_qos_iops_limit"] != "3000" || md["conf_rbd_qos_bps_limit"] != "104857600" {
		t.Errorf("image metadata %v, %v; want the class's QoS", md, err)
	}

	data := bytes.Repeat([]byte("ironfed-rbd-data"), 4096) // 64 KiB
	if err := conn.WriteAt(ctx, image, nil, data, 5*mi); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := conn.ReadAt(ctx, image, nil, got, 5*mi); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %q..., %v", got[:16], err)
	}

	snap, err := v.CreateSnapshot(ctx, &volumev1alpha1.VolumeSnapshot{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.VolumeSnapshotUIDLabel: t.Name()}},
		Spec:     &volumev1alpha1.VolumeSnapshotSpec{VolumeId: id},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteAt(ctx, image, nil, bytes.Repeat([]byte{0}, len(data)), 5*mi); err != nil {
		t.Fatal(err)
	}
	restored := newVolume(t, v, 128*mi, func(in *volumev1alpha1.Volume) {
		in.Spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: snap.GetMetadata().GetId()}}
	})
	if err := conn.ReadAt(ctx, imageOf(t, restored), nil, got, 5*mi); err != nil || !bytes.Equal(got, data) {
		t.Errorf("volume restored from the snapshot reads %q..., %v; want the data from before the snapshot", got[:16], err)
	}
	if size, _ := conn.ImageSize(ctx, imageOf(t, restored)); size != uint64(128*mi) {
		t.Errorf("restored image has %d bytes, want %d", size, 128*mi)
	}
	if err := v.Delete(ctx, id); code(err) != codes.FailedPrecondition {
		t.Errorf("deleting a volume with a snapshot: %v; want FailedPrecondition", err)
	}
	if err := v.DeleteSnapshot(ctx, snap.GetMetadata().GetId()); err != nil {
		t.Fatalf("deleting the snapshot (its restored volume is flattened): %v", err)
	}

	if err := v.Expand(ctx, id, 96*mi); err != nil {
		t.Fatal(err)
	}
	if size, _ := conn.ImageSize(ctx, image); size != uint64(96*mi) {
		t.Errorf("expanded image has %d bytes, want %d", size, 96*mi)
	}
	if err := v.Expand(ctx, id, 32*mi); code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "only grow") {
		t.Errorf("shrinking: %v; want InvalidArgument saying volumes only grow", err)
	}
	if err := v.Expand(ctx, id, 1<<50); code(err) != codes.ResourceExhausted {
		t.Errorf("expanding beyond the pool: %v; want ResourceExhausted", err)
	}

	for _, o := range []*volumev1alpha1.Volume{vol, restored} {
		if err := v.Delete(ctx, o.GetMetadata().GetId()); err != nil {
			t.Fatal(err)
		}
	}
	names, err := conn.ListImages(ctx)
	if err != nil || slices.Contains(names, image) || slices.Contains(names, imageOf(t, restored)) {
		t.Errorf("images after delete: %v, %v", names, err)
	}
}

// TestVolumeEncryption formats a volume with LUKS2 under the key from the
// request: data read through the key comes back, the raw image starts with
// the LUKS header, and the key is nowhere in the volume.
func TestVolumeEncryption(t *testing.T) {
	v, conn := openVolumes(t)
	ctx := t.Context()
	key := []byte("correct horse battery staple")
	vol := newVolume(t, v, 64*mi, func(in *volumev1alpha1.Volume) {
		in.Spec.Encryption = &volumev1alpha1.EncryptionSpec{SecretData: map[string][]byte{volume.EncryptionKey: key}}
	})
	image := imageOf(t, vol)
	t.Cleanup(func() { _ = v.Delete(context.WithoutCancel(ctx), vol.GetMetadata().GetId()) })
	data := []byte("secret guest data")
	if err := conn.WriteAt(ctx, image, key, data, 0); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := conn.ReadAt(ctx, image, key, got, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("read through LUKS2: %q, %v", got, err)
	}
	raw := make([]byte, 4)
	if err := conn.ReadAt(ctx, image, nil, raw, 0); err != nil || string(raw) != "LUKS" {
		t.Errorf("raw image starts with %q, %v; want the LUKS magic", raw, err)
	}
	if vol.GetStatus().GetAccess().GetAttributes()["encryption"] != "luks2" || vol.GetSpec().GetEncryption() != nil {
		t.Errorf("encrypted volume: attributes %v, spec.encryption %v; want encryption=luks2 and no key kept", vol.GetStatus().GetAccess().GetAttributes(), vol.GetSpec().GetEncryption())
	}
	_, err := v.Create(ctx, &volumev1alpha1.Volume{Spec: &volumev1alpha1.VolumeSpec{Class: "fast",
		Resources:  &volumev1alpha1.VolumeResources{StorageBytes: 64 * mi},
		Encryption: &volumev1alpha1.EncryptionSpec{}}})
	if code(err) != codes.InvalidArgument {
		t.Errorf("encryption without a key: %v; want InvalidArgument", err)
	}
}

// TestVolumeRestartAndSweep: a second runtime on the same pool knows every
// volume and snapshot (state lives in Ceph), and the sweep removes images
// and snapshots it owns but has no record of.
func TestVolumeRestartAndSweep(t *testing.T) {
	v, conn := openVolumes(t)
	ctx := t.Context()
	vol := newVolume(t, v, 16*mi, func(in *volumev1alpha1.Volume) { in.Metadata.Labels[labels.VolumeUIDLabel] = "restart-uid" })
	id := vol.GetMetadata().GetId()
	snap, err := v.CreateSnapshot(ctx, &volumev1alpha1.VolumeSnapshot{Spec: &volumev1alpha1.VolumeSnapshotSpec{VolumeId: id}})
	if err != nil {
		t.Fatal(err)
	}
	orphan := "ironfed-" + objstore.NewID()
	if err := conn.CreateImage(ctx, orphan, uint64(mi)); err != nil {
		t.Fatal(err)
	}
	strayImage, straySnap := "ironfed-"+id, "ironfed-snap-"+objstore.NewID()
	if err := conn.CreateSnapshot(ctx, strayImage, straySnap); err != nil {
		t.Fatal(err)
	}

	again, err := volume.New(ctx, conn, volume.Options{Classes: objstore.DefaultClasses().VolumeClasses, Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got, ok := again.Index.Get(id)
	if !ok || got.GetStatus().GetAccess().GetAttributes()["wwn"] != vol.GetStatus().GetAccess().GetAttributes()["wwn"] ||
		got.GetMetadata().GetCreatedAt() != vol.GetMetadata().GetCreatedAt() || got.GetMetadata().GetLabels()["test"] != t.Name() {
		t.Errorf("after restart volume %s is %v; want it as created", id, got)
	}
	if _, ok := again.Snapshots.Get(snap.GetMetadata().GetId()); !ok {
		t.Errorf("after restart snapshot %s is unknown", snap.GetMetadata().GetId())
	}
	if dup, err := again.Create(ctx, &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.VolumeUIDLabel: "restart-uid"}},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 16 * mi}},
	}); err != nil || dup.GetMetadata().GetId() != id {
		t.Errorf("retried create after restart: %v, %v; want volume %s", dup.GetMetadata().GetId(), err, id)
	}

	removed, err := again.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, orphan) || !slices.Contains(removed, strayImage+"@"+straySnap) || len(removed) != 2 {
		t.Errorf("sweep removed %v; want %s and %s@%s", removed, orphan, strayImage, straySnap)
	}
	if snaps, _ := conn.ListSnapshots(ctx, strayImage); len(snaps) != 1 {
		t.Errorf("snapshots left on %s: %v; want only the known one", strayImage, snaps)
	}
	if err := again.DeleteSnapshot(ctx, snap.GetMetadata().GetId()); err != nil {
		t.Fatal(err)
	}
	if err := again.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
}
