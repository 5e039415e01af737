package realceph

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc/codes"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/ceph/volume"
	"github.com/ironfed/ironfed/providers/ceph/volume/osimage"
)

// pushOSImage pushes an IronCore-format image (config, rootfs, kernel,
// initramfs) to go-containerregistry's in-process registry and returns its
// reference.
func pushOSImage(t *testing.T, rootfs []byte) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ctx := t.Context()
	store := memory.New()
	push := func(mediaType string, b []byte) ocispec.Descriptor {
		d := content.NewDescriptorFromBytes(mediaType, b)
		if err := store.Push(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(osimage.ConfigMediaType, []byte(`{"commandLine":"console=ttyS0"}`))
	layers := []ocispec.Descriptor{
		push(osimage.RootfsMediaType, rootfs),
		push("application/vnd.ironcore.image.kernel", []byte("kernel")),
		push("application/vnd.ironcore.image.initramfs", []byte("initramfs")),
	}
	man, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{ConfigDescriptor: &cfg, Layers: layers})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Tag(ctx, man, "v1"); err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/ironfed/os:v1"
	repo, err := remote.NewRepository(ref)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	if _, err := oras.Copy(ctx, store, "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestVolumesFromOSImage: the rootfs of an IronCore OCI image is imported
// into one base image once, snapshotted, and cloned per volume; each
// volume reads the rootfs bytes, writes stay its own.
func TestVolumesFromOSImage(t *testing.T) {
	_, conn := openVolumes(t)
	v, err := volume.New(t.Context(), conn, volume.Options{
		Classes: objstore.DefaultClasses().VolumeClasses, Images: &osimage.Registry{PlainHTTP: true}, Logger: logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := t.Context()
	rootfs := bytes.Repeat([]byte("ironfed-rootfs!\n"), 3<<16) // 3 MiB
	ref := pushOSImage(t, rootfs)
	fromImage := func(size int64) (*volumev1alpha1.Volume, time.Duration, error) {
		start := time.Now()
		obj, err := v.Create(ctx, &volumev1alpha1.Volume{
			Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"test": t.Name()}},
			Spec: &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: size},
				VolumeDataSource: &volumev1alpha1.VolumeDataSource{ImageDataSource: &volumev1alpha1.ImageDataSource{Image: ref}}},
		})
		return obj, time.Since(start), err
	}
	a, first, err := fromImage(32 * mi)
	if err != nil {
		t.Fatal(err)
	}
	b, second, err := fromImage(32 * mi)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first volume from the image (import + clone) %s, second (clone) %s, reference: empty volume below", first.Round(time.Millisecond), second.Round(time.Millisecond))
	start := time.Now()
	empty := newVolume(t, v, 32*mi)
	t.Logf("empty volume %s", time.Since(start).Round(time.Millisecond))

	if a.GetSpec().GetVolumeDataSource().GetImageDataSource().GetImage() != ref {
		t.Errorf("spec.volume_data_source = %v, want image %s", a.GetSpec().GetVolumeDataSource(), ref)
	}
	got := make([]byte, len(rootfs))
	for _, o := range []*volumev1alpha1.Volume{a, b} {
		if err := conn.ReadAt(ctx, imageOf(t, o), nil, got, 0); err != nil || !bytes.Equal(got, rootfs) {
			t.Errorf("volume %s does not read the rootfs: %v", o.GetMetadata().GetId(), err)
		}
	}
	if err := conn.WriteAt(ctx, imageOf(t, a), nil, []byte("changed"), 0); err != nil {
		t.Fatal(err)
	}
	if err := conn.ReadAt(ctx, imageOf(t, b), nil, got[:7], 0); err != nil || string(got[:7]) != "ironfed" {
		t.Errorf("a write to one clone shows in the other: %q, %v", got[:7], err)
	}
	names, _ := conn.ListImages(ctx)
	var bases []string
	for _, n := range names {
		if strings.HasPrefix(n, "ironfed-os-") {
			bases = append(bases, n)
		}
	}
	if len(bases) != 1 {
		t.Errorf("base images %v, want exactly one for one image", bases)
	}
	if _, _, err := fromImage(mi); code(err) != codes.InvalidArgument {
		t.Errorf("a volume smaller than the rootfs: %v, want InvalidArgument", err)
	}
	if _, err := v.Create(ctx, &volumev1alpha1.Volume{Spec: &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 32 * mi},
		VolumeDataSource: &volumev1alpha1.VolumeDataSource{ImageDataSource: &volumev1alpha1.ImageDataSource{Image: strings.Replace(ref, ":v1", ":missing", 1)}}}}); err == nil {
		t.Error("a volume from a missing tag was created")
	}
	for _, o := range []*volumev1alpha1.Volume{a, b, empty} {
		if err := v.Delete(ctx, o.GetMetadata().GetId()); err != nil {
			t.Fatal(err)
		}
	}
	if removed, err := v.Sweep(ctx); err != nil || slices.ContainsFunc(removed, func(s string) bool { return strings.HasPrefix(s, "ironfed-os-") }) {
		t.Errorf("sweep removed %v (%v); base images must stay", removed, err)
	}
}
