package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// ErrNotFound matches (errors.Is) a pull of an image the registry does not have.
var ErrNotFound = errors.New("image not found")

// Image is a pulled image: its manifest digest and the paths of its parts in the cache ("" if absent).
type Image struct {
	Digest                    digest.Digest
	CommandLine               string
	Kernel, InitRAMFS, RootFS string
}

// Cache is a content-addressed store of pulled blobs: <dir>/blobs/sha256/<hex>. Machines refer to
// images by manifest digest; GC removes every blob no kept manifest refers to.
type Cache struct {
	dir  string
	opts RegistryOptions
	mu   sync.Mutex // serialises pulls and GC
}

// NewCache returns a cache rooted at dir (created).
func NewCache(dir string, opts RegistryOptions) (*Cache, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o700); err != nil {
		return nil, err
	}
	return &Cache{dir: dir, opts: opts}, nil
}

func (c *Cache) blobPath(d digest.Digest) string {
	return filepath.Join(c.dir, "blobs", d.Algorithm().String(), d.Encoded())
}

// Pull resolves ref, downloads what the cache lacks (digest-verified) and returns the image.
func (c *Cache) Pull(ctx context.Context, ref string) (*Image, error) {
	repo, err := c.opts.repository(ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	md, err := repo.Resolve(ctx, repo.Reference.Reference)
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
		}
		return nil, fmt.Errorf("resolving image %s: %w", ref, err)
	}
	if md.MediaType != ocispec.MediaTypeImageManifest {
		return nil, fmt.Errorf("image %s is a %s, want an OCI image manifest in IronCore's format", ref, md.MediaType)
	}
	if err := c.fetch(ctx, repo, md); err != nil {
		return nil, err
	}
	m, err := c.manifest(md.Digest)
	if err != nil {
		return nil, err
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if err := c.fetch(ctx, repo, d); err != nil {
			return nil, err
		}
	}
	return c.Open(md.Digest)
}

// Open returns the cached image with manifest digest d without contacting a registry.
func (c *Cache) Open(d digest.Digest) (*Image, error) {
	m, err := c.manifest(d)
	if err != nil {
		return nil, err
	}
	if m.Config.MediaType != ConfigMediaType {
		return nil, fmt.Errorf("image %s has config type %q, want %s", d, m.Config.MediaType, ConfigMediaType)
	}
	img := &Image{Digest: d}
	b, err := os.ReadFile(c.blobPath(m.Config.Digest))
	if err != nil {
		return nil, err
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("image %s config: %w", d, err)
	}
	img.CommandLine = cfg.CommandLine
	for _, l := range m.Layers {
		p := c.blobPath(l.Digest)
		switch l.MediaType {
		case KernelMediaType:
			img.Kernel = p
		case InitRAMFSMediaType:
			img.InitRAMFS = p
		case RootFSMediaType:
			img.RootFS = p
		}
	}
	if img.Kernel == "" && img.RootFS == "" {
		return nil, fmt.Errorf("image %s has neither a kernel nor a rootfs layer", d)
	}
	return img, nil
}

func (c *Cache) manifest(d digest.Digest) (*ocispec.Manifest, error) {
	b, err := os.ReadFile(c.blobPath(d))
	if err != nil {
		return nil, fmt.Errorf("image %s is not in the cache: %w", d, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d, err)
	}
	return &m, nil
}

type fetcher interface {
	Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error)
}

// fetch stores blob d unless present, verifying size and digest before it becomes visible.
func (c *Cache) fetch(ctx context.Context, f fetcher, d ocispec.Descriptor) error {
	p := c.blobPath(d.Digest)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	rc, err := f.Fetch(ctx, d)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", d.Digest, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(p), ".pull-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	vr := content.NewVerifyReader(rc, d)
	if _, err := io.Copy(tmp, vr); err != nil {
		tmp.Close()
		return fmt.Errorf("fetching %s: %w", d.Digest, err)
	}
	if err := vr.Verify(); err != nil {
		tmp.Close()
		return fmt.Errorf("fetching %s: %w", d.Digest, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// GC removes every blob that no manifest in keep refers to (the manifests themselves included) and
// returns how many it removed.
func (c *Cache) GC(keep []digest.Digest) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := map[string]bool{}
	for _, d := range keep {
		live[d.Encoded()] = true
		if m, err := c.manifest(d); err == nil {
			live[m.Config.Digest.Encoded()] = true
			for _, l := range m.Layers {
				live[l.Digest.Encoded()] = true
			}
		}
	}
	dir := filepath.Join(c.dir, "blobs", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if live[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}
