package memory

import (
	"math"
	"strings"
	"testing"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

func newVolume(class string, size int64) *volumev1alpha1.Volume {
	return &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{},
		Spec:     &volumev1alpha1.VolumeSpec{Class: class, Resources: &volumev1alpha1.VolumeResources{StorageBytes: size}},
	}
}

func TestVolumeLifecycle(t *testing.T) {
	p := newProvider(t, func(c *Config) { c.VolumeClasses[0].CapacityBytes = 10 * gi })
	v, err := p.Volumes.Create(newVolume("fast", gi))
	if err != nil {
		t.Fatal(err)
	}
	id := v.Metadata.Id
	acc := v.Status.GetAccess()
	if v.Status.State != volumev1alpha1.VolumeState_VOLUME_AVAILABLE || acc.GetDriver() != VolumeDriver || acc.GetHandle() == "" {
		t.Fatalf("new volume status = %v", v.Status)
	}
	if want := VolumeCredentials(id); len(acc.GetSecretData()) != 2 ||
		string(acc.GetSecretData()[VolumeUserID]) != string(want[VolumeUserID]) || len(acc.GetSecretData()[VolumeUserKey]) != 64 ||
		string(acc.GetSecretData()[VolumeUserKey]) != string(want[VolumeUserKey]) {
		t.Fatalf("volume secret_data = %q, want deterministic %q", acc.GetSecretData(), want)
	}
	for _, ev := range p.VolumeEvents().List(EventFilter{ID: id}) {
		if strings.Contains(ev.Spec.Message, string(acc.GetSecretData()[VolumeUserKey])) {
			t.Fatalf("event leaks the volume key: %q", ev.Spec.Message)
		}
	}
	if err := p.Volumes.Expand(id, 4*gi); err != nil {
		t.Fatal(err)
	}
	v, _ = p.Volumes.Get(id)
	if v.Status.Resources.StorageBytes != 4*gi || v.Metadata.Generation != 2 {
		t.Fatalf("after expand: %v, generation %d", v.Status.Resources, v.Metadata.Generation)
	}
	wantKind(t, p.Volumes.Expand(id, gi), runtimeerr.ErrInvalid)
	wantKind(t, p.Volumes.Expand(id, 11*gi), runtimeerr.ErrExhausted)
	wantKind(t, p.Volumes.Expand(strings.Repeat("a", IDLength), 8*gi), runtimeerr.ErrNotFound)
	if used := p.Volumes.Usage()["fast"]; used != 4*gi {
		t.Fatalf("usage = %d, want %d (a refused expand must not leak capacity)", used, 4*gi)
	}
	_, err = p.Volumes.Create(newVolume("fast", 7*gi))
	wantKind(t, err, runtimeerr.ErrExhausted)

	snap, err := p.Volumes.CreateSnapshot(&volumev1alpha1.VolumeSnapshot{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.VolumeSnapshotUIDLabel: "s1"}},
		Spec:     &volumev1alpha1.VolumeSnapshotSpec{VolumeId: id},
	})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status.State != volumev1alpha1.VolumeSnapshotState_VOLUME_SNAPSHOT_READY || snap.Status.Size != 4*gi {
		t.Fatalf("snapshot status = %v", snap.Status)
	}
	again, _ := p.Volumes.CreateSnapshot(&volumev1alpha1.VolumeSnapshot{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.VolumeSnapshotUIDLabel: "s1"}},
		Spec:     &volumev1alpha1.VolumeSnapshotSpec{VolumeId: id},
	})
	if again.Metadata.Id != snap.Metadata.Id {
		t.Fatalf("retried snapshot create duplicated")
	}
	fromSnap := newVolume("fast", 2*gi)
	fromSnap.Spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: snap.Metadata.Id}}
	_, err = p.Volumes.Create(fromSnap)
	wantKind(t, err, runtimeerr.ErrInvalid) // smaller than the snapshot
	fromSnap.Spec.Resources.StorageBytes = 4 * gi
	if _, err := p.Volumes.Create(fromSnap); err != nil {
		t.Fatalf("volume from snapshot: %v", err)
	}
	if err := p.Volumes.Snapshots.Delete(snap.Metadata.Id); err != nil {
		t.Fatal(err)
	}
	if err := p.Volumes.Snapshots.Delete(snap.Metadata.Id); err != nil {
		t.Fatalf("deleting a missing snapshot: %v", err)
	}
	_, err = p.Volumes.CreateSnapshot(&volumev1alpha1.VolumeSnapshot{Spec: &volumev1alpha1.VolumeSnapshotSpec{VolumeId: strings.Repeat("b", IDLength)}})
	wantKind(t, err, runtimeerr.ErrNotFound)
	_, err = p.Volumes.CreateSnapshot(&volumev1alpha1.VolumeSnapshot{})
	wantKind(t, err, runtimeerr.ErrInvalid)
	if evs := p.VolumeEvents().List(EventFilter{ID: snap.Metadata.Id}); len(evs) == 0 {
		t.Fatalf("snapshot events are missing from the volume runtime's log")
	}
}

func TestVolumeCreateValidation(t *testing.T) {
	p := newProvider(t, nil)
	cases := []struct {
		in      *volumev1alpha1.Volume
		mention string
	}{
		{nil, "volume is required"},
		{&volumev1alpha1.Volume{}, "spec is required"},
		{newVolume("", gi), "supported volume classes: fast"},
		{newVolume("slow", gi), "supported volume classes: fast"},
		{newVolume("fast", 0), "storage_bytes"},
		{&volumev1alpha1.Volume{Spec: &volumev1alpha1.VolumeSpec{Class: "fast"}}, "storage_bytes"},
	}
	for _, c := range cases {
		_, err := p.Volumes.Create(c.in)
		wantKind(t, err, runtimeerr.ErrInvalid)
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("message %q does not mention %q", err, c.mention)
		}
	}
}

func TestBucketLifecycle(t *testing.T) {
	p := newProvider(t, nil)
	in := &bucketv1alpha1.Bucket{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.BucketUIDLabel: "b1"}},
		Spec:     &bucketv1alpha1.BucketSpec{Class: "standard"},
	}
	b, err := p.Buckets.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	acc := b.Status.GetAccess()
	if b.Status.State != bucketv1alpha1.BucketState_BUCKET_AVAILABLE || !strings.HasPrefix(acc.GetEndpoint(), b.Metadata.Id+".") ||
		len(acc.GetSecretData()[BucketAccessKeyID]) != 20 || len(acc.GetSecretData()[BucketSecretAccessKey]) != 40 {
		t.Fatalf("bucket status = %v", b.Status)
	}
	for _, ev := range p.BucketEvents().List(EventFilter{ID: b.Metadata.Id}) {
		if strings.Contains(ev.Spec.Message, string(acc.SecretData[BucketSecretAccessKey])) {
			t.Fatalf("event %q leaks the secret key", ev.Spec.Message)
		}
	}
	again, _ := p.Buckets.Create(in)
	if again.Metadata.Id != b.Metadata.Id {
		t.Fatalf("retried bucket create duplicated")
	}
	_, err = p.Buckets.Create(&bucketv1alpha1.Bucket{Spec: &bucketv1alpha1.BucketSpec{Class: "gold"}})
	wantKind(t, err, runtimeerr.ErrInvalid)
	if !strings.Contains(err.Error(), "standard") {
		t.Fatalf("message %q does not name the supported classes", err)
	}
	if got := p.Buckets.Classes(); len(got) != 1 || got[0].Name != "standard" || got[0].Capabilities.Iops == 0 {
		t.Fatalf("classes = %v", got)
	}
}

// Regression (probe): an expand to 2^63-1 bytes overflowed the capacity sum, after which any
// size "fitted" and the class's free capacity read 0 everywhere. Huge sizes are refused with
// ResourceExhausted, and what is in use is unchanged.
func TestVolumeHugeSizesDoNotOverflowCapacity(t *testing.T) {
	const ti = 1 << 40
	p := newProvider(t, func(c *Config) { c.VolumeClasses[0].CapacityBytes = 100 * ti })
	v, err := p.Volumes.Create(newVolume("fast", gi))
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, p.Volumes.Expand(v.Metadata.Id, math.MaxInt64), runtimeerr.ErrExhausted)
	_, err = p.Volumes.Create(newVolume("fast", math.MaxInt64))
	wantKind(t, err, runtimeerr.ErrExhausted)
	_, err = p.Volumes.Create(newVolume("fast", 200*ti))
	wantKind(t, err, runtimeerr.ErrExhausted)
	// What is left is still usable to the byte.
	if _, err := p.Volumes.Create(newVolume("fast", 100*ti-gi)); err != nil {
		t.Fatalf("the rest of the class no longer fits: %v", err)
	}
	got, _ := p.Volumes.Get(v.Metadata.Id)
	if got.Spec.Resources.StorageBytes != gi {
		t.Fatalf("a refused expand changed the volume to %d bytes", got.Spec.Resources.StorageBytes)
	}
}
