package volume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// ImageSource finds the rootfs of an OS image (package osimage reads
// IronCore images from OCI registries).
type ImageSource interface {
	Rootfs(ctx context.Context, ref string) (Rootfs, error)
}

// Rootfs is an image's root filesystem layer.
type Rootfs struct {
	// Digest identifies the image content (the manifest digest): one base
	// image per digest.
	Digest string
	Size   int64
	Open   func(ctx context.Context) (io.ReadCloser, error)
}

// Errors an ImageSource wraps for refs and images the caller got wrong.
var (
	ErrBadImageRef = errors.New("malformed image reference")
	ErrBadImage    = errors.New("not an IronCore OS image")
)

const (
	osImageKey  = "ironfed.osimage"
	osImageSnap = "base"
)

// baseImage returns the RBD image holding ref's rootfs, importing it first
// if no volume used that image content before: written once, snapshotted
// and protected, then cloned (copy-on-write) per volume. Base images are
// kept for later volumes; the sweep leaves them alone.
func (v *Volumes) baseImage(ctx context.Context, ref string) (string, int64, error) {
	if v.opts.Images == nil {
		return "", 0, runtimeerr.Invalidf("volume.spec.volume_data_source.image_data_source: this runtime has no image source configured")
	}
	rootfs, err := v.opts.Images.Rootfs(ctx, ref)
	switch {
	case errors.Is(err, ErrBadImageRef), errors.Is(err, ErrBadImage):
		return "", 0, runtimeerr.Invalidf("image_data_source.image %q: %v", ref, err)
	case err != nil:
		return "", 0, runtimeerr.Errorf(runtimeerr.KindUnavailable, "image_data_source.image %q: %v", ref, err)
	}
	hexDigest := rootfs.Digest[strings.IndexByte(rootfs.Digest, ':')+1:]
	if len(hexDigest) > 40 {
		hexDigest = hexDigest[:40]
	}
	name := v.opts.ImagePrefix + "os-" + hexDigest
	if md, err := v.b.Metadata(ctx, name); err == nil && md[osImageKey] != "" {
		return name, rootfs.Size, nil
	}
	// Absent or half-imported: start over.
	if err := v.b.RemoveImage(ctx, name); err != nil {
		return "", 0, fmt.Errorf("removing a half-imported base image %s: %w", name, err)
	}
	if err := v.importRootfs(ctx, name, ref, rootfs); err != nil {
		_ = v.b.RemoveImage(context.WithoutCancel(ctx), name)
		return "", 0, err
	}
	return name, rootfs.Size, nil
}

func (v *Volumes) importRootfs(ctx context.Context, name, ref string, rootfs Rootfs) error {
	const mi = 1 << 20
	size := (rootfs.Size + mi - 1) / mi * mi
	if err := v.b.CreateImage(ctx, name, uint64(size)); err != nil {
		return fmt.Errorf("creating base image %s: %w", name, err)
	}
	rc, err := rootfs.Open(ctx)
	if err != nil {
		return runtimeerr.Errorf(runtimeerr.KindUnavailable, "pulling the rootfs of %s: %v", ref, err)
	}
	defer rc.Close()
	if err := v.b.WriteImage(ctx, name, rc); err != nil {
		return runtimeerr.Errorf(runtimeerr.KindUnavailable, "importing the rootfs of %s into %s: %v", ref, name, err)
	}
	if err := v.b.CreateSnapshot(ctx, name, osImageSnap); err != nil {
		return fmt.Errorf("snapshotting base image %s: %w", name, err)
	}
	b, _ := json.Marshal(map[string]any{"image": ref, "digest": rootfs.Digest, "size": rootfs.Size})
	return v.b.SetMetadata(ctx, name, map[string]string{osImageKey: string(b)})
}
