package volume

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

func newTestVolumes(t *testing.T, f *fakeBackend) *Volumes {
	t.Helper()
	v, err := New(t.Context(), f, Options{Classes: objstore.DefaultClasses().VolumeClasses, Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func req(size int64, lbls map[string]string) *volumev1alpha1.Volume {
	return &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: lbls},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: size}},
	}
}

func codeOf(err error) codes.Code { return status.Code(runtimeerr.ToStatus(err)) }

// TestCreateRollsBack: whichever step after the image fails, no image is
// left and no volume is listed.
func TestCreateRollsBack(t *testing.T) {
	for _, step := range []string{"SetRecord", "EncryptLUKS2"} {
		t.Run(step, func(t *testing.T) {
			f := newFake()
			v := newTestVolumes(t, f)
			f.fail[step] = errors.New("injected")
			in := req(1<<20, nil)
			in.Spec.Encryption = &volumev1alpha1.EncryptionSpec{SecretData: map[string][]byte{EncryptionKey: []byte("k")}}
			if _, err := v.Create(t.Context(), in); err == nil {
				t.Fatal("create succeeded despite the failure")
			}
			if len(f.images) != 0 || v.Index.Len() != 0 {
				t.Errorf("left %d images and %d volumes behind", len(f.images), v.Index.Len())
			}
		})
	}
}

func TestCreateIdempotentAndRebuilt(t *testing.T) {
	f := newFake()
	v := newTestVolumes(t, f)
	lbls := map[string]string{labels.VolumeUIDLabel: "u1"}
	a, err := v.Create(t.Context(), req(1<<20, lbls))
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.Create(t.Context(), req(1<<20, lbls))
	if err != nil || b.GetMetadata().GetId() != a.GetMetadata().GetId() || len(f.images) != 1 {
		t.Fatalf("retry: %v, %v, %d images", b.GetMetadata().GetId(), err, len(f.images))
	}
	// A half-created image (no record) is not a volume and is swept.
	f.images["ironfed-"+objstore.NewID()] = &fakeImage{md: map[string]string{}}
	again := newTestVolumes(t, f)
	if c, err := again.Create(t.Context(), req(1<<20, lbls)); err != nil || c.GetMetadata().GetId() != a.GetMetadata().GetId() {
		t.Errorf("retry after restart: %v, %v", c.GetMetadata().GetId(), err)
	}
	if removed, err := again.Sweep(t.Context()); err != nil || len(removed) != 1 {
		t.Errorf("sweep removed %v, %v; want the half-created image", removed, err)
	}
	if len(f.images) != 1 {
		t.Errorf("%d images after sweep, want 1", len(f.images))
	}
}

func TestCodes(t *testing.T) {
	f := newFake()
	v := newTestVolumes(t, f)
	ctx := t.Context()
	vol, err := v.Create(ctx, req(1<<20, nil))
	if err != nil {
		t.Fatal(err)
	}
	id := vol.GetMetadata().GetId()
	image := &volumev1alpha1.Volume{Spec: &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1},
		VolumeDataSource: &volumev1alpha1.VolumeDataSource{ImageDataSource: &volumev1alpha1.ImageDataSource{Image: "x"}}}}
	for _, k := range []struct {
		name string
		err  error
		want codes.Code
	}{
		{"too big for the pool", func() error { _, err := v.Create(ctx, req(1<<40, nil)); return err }(), codes.ResourceExhausted},
		{"id set", func() error {
			r := req(1, nil)
			r.Metadata.Id = id
			_, err := v.Create(ctx, r)
			return err
		}(), codes.InvalidArgument},
		{"image source", func() error { _, err := v.Create(ctx, image); return err }(), codes.InvalidArgument},
		{"unknown snapshot source", func() error {
			r := req(1, nil)
			r.Spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: objstore.NewID()}}
			_, err := v.Create(ctx, r)
			return err
		}(), codes.NotFound},
		{"shrink", v.Expand(ctx, id, 1), codes.InvalidArgument},
		{"expand unknown", v.Expand(ctx, objstore.NewID(), 1<<21), codes.NotFound},
		{"expand malformed", v.Expand(ctx, "x", 1<<21), codes.InvalidArgument},
		{"delete malformed", v.Delete(ctx, "x"), codes.InvalidArgument},
		{"snapshot unknown volume", func() error {
			_, err := v.CreateSnapshot(ctx, &volumev1alpha1.VolumeSnapshot{Spec: &volumev1alpha1.VolumeSnapshotSpec{VolumeId: objstore.NewID()}})
			return err
		}(), codes.NotFound},
	} {
		if got := codeOf(k.err); got != k.want {
			t.Errorf("%s: %v (%v), want %v", k.name, got, k.err, k.want)
		}
	}
	if err := v.Expand(ctx, id, 1<<22); err != nil {
		t.Fatal(err)
	}
	got, _ := v.Index.Get(id)
	if got.GetMetadata().GetGeneration() != 2 || got.GetStatus().GetResources().GetStorageBytes() != 1<<22 || !strings.Contains(f.images["ironfed-"+id].md[recordKey], `"generation":2`) {
		t.Errorf("after expand: %v; record %s", got, f.images["ironfed-"+id].md[recordKey])
	}
	st, err := v.Status(ctx)
	if err != nil || len(st) != 2 || st[0].GetQuantity() != 10<<30 {
		t.Errorf("Status = %v, %v; want stored+available (10 GiB) per class", st, err)
	}
	f.fail["PoolSpace"] = errors.New("mon down")
	if _, err := v.Status(ctx); codeOf(err) != codes.Unavailable {
		t.Errorf("Status without the mon: %v, want Unavailable", err)
	}
}
