// Package osimage reads IronCore OS images from an OCI registry: artifacts
// whose config has media type application/vnd.ironcore.image.config.v1+json
// and whose layers carry the rootfs, kernel, initramfs, ... under
// application/vnd.ironcore.image.<part>. The volume runtime imports an
// image's rootfs once per manifest digest and clones it per volume.
package osimage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/ironfed/ironfed/providers/ceph/volume"
)

// Media types of IronCore OS images.
const (
	ConfigMediaType = "application/vnd.ironcore.image.config.v1+json"
	RootfsMediaType = "application/vnd.ironcore.image.rootfs"
)

// Registry pulls from OCI registries anonymously.
type Registry struct {
	// PlainHTTP talks HTTP instead of HTTPS (local registries).
	PlainHTTP bool
	// Client is the HTTP client (default: 5-minute timeout).
	Client *http.Client
}

var _ volume.ImageSource = (*Registry)(nil)

// Rootfs resolves ref ("host/repo:tag" or "@sha256:...") and returns its
// rootfs layer; Open streams it, verified against the layer digest.
func (r *Registry) Rootfs(ctx context.Context, ref string) (volume.Rootfs, error) {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return volume.Rootfs{}, fmt.Errorf("%w: %v", volume.ErrBadImageRef, err)
	}
	repo.PlainHTTP = r.PlainHTTP
	hc := r.Client
	if hc == nil {
		hc = &http.Client{Timeout: 5 * 60e9}
	}
	repo.Client = &auth.Client{Client: hc}
	desc, err := repo.Resolve(ctx, repo.Reference.Reference)
	if err != nil {
		return volume.Rootfs{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	raw, err := content.FetchAll(ctx, repo, desc)
	if err != nil {
		return volume.Rootfs{}, fmt.Errorf("fetching the manifest of %s: %w", ref, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return volume.Rootfs{}, fmt.Errorf("%w: manifest of %s: %v", volume.ErrBadImage, ref, err)
	}
	if m.Config.MediaType != ConfigMediaType {
		return volume.Rootfs{}, fmt.Errorf("%w: %s has config media type %q, want %s", volume.ErrBadImage, ref, m.Config.MediaType, ConfigMediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != RootfsMediaType {
			continue
		}
		layer := l
		return volume.Rootfs{
			Digest: desc.Digest.String(),
			Size:   layer.Size,
			Open: func(ctx context.Context) (io.ReadCloser, error) {
				rc, err := repo.Fetch(ctx, layer)
				if err != nil {
					return nil, err
				}
				return verified{content.NewVerifyReader(rc, layer), rc}, nil
			},
		}, nil
	}
	return volume.Rootfs{}, fmt.Errorf("%w: %s has no %s layer", volume.ErrBadImage, ref, RootfsMediaType)
}

// verified reads through a VerifyReader and reports a digest mismatch at EOF.
type verified struct {
	vr *content.VerifyReader
	c  io.Closer
}

func (v verified) Read(p []byte) (int, error) {
	n, err := v.vr.Read(p)
	if err == io.EOF {
		if verr := v.vr.Verify(); verr != nil {
			return n, verr
		}
	}
	return n, err
}

func (v verified) Close() error { return v.c.Close() }
