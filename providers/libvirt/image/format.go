// Package image pushes and pulls boot images in IronCore's OCI image format and keeps pulled images in a
// content-addressed cache on disk.
//
// The format (IronCore's): an OCI image manifest whose config has the media type
// application/vnd.ironcore.image.config.v1+json ({"commandLine": "..."}) and whose layers carry the
// rootfs (a raw disk image), kernel and initramfs under application/vnd.ironcore.image.<part>.
package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Media types of IronCore's image format.
const (
	ConfigMediaType    = "application/vnd.ironcore.image.config.v1+json"
	RootFSMediaType    = "application/vnd.ironcore.image.rootfs"
	KernelMediaType    = "application/vnd.ironcore.image.kernel"
	InitRAMFSMediaType = "application/vnd.ironcore.image.initramfs"
)

// Config is the image config blob.
type Config struct {
	CommandLine string `json:"commandLine,omitempty"`
}

// Source is an image to push: paths of the parts it has (at least a kernel or a rootfs).
type Source struct {
	CommandLine               string
	Kernel, InitRAMFS, RootFS string
}

// RegistryOptions say how to reach registries.
type RegistryOptions struct {
	// PlainHTTP lists registry hosts (host:port) spoken to over plain HTTP; "*" means every host.
	PlainHTTP []string
	// Credentials maps a registry host to its basic-auth credentials.
	Credentials map[string]auth.Credential
}

func (o RegistryOptions) repository(ref string) (*remote.Repository, error) {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	host := repo.Reference.Registry
	for _, h := range o.PlainHTTP {
		if h == "*" || h == host {
			repo.PlainHTTP = true
		}
	}
	c := &auth.Client{Client: retry.DefaultClient, Cache: auth.NewCache()}
	if cred, ok := o.Credentials[host]; ok {
		c.Credential = auth.StaticCredential(host, cred)
	}
	repo.Client = c
	return repo, nil
}

// Push uploads src to ref (registry/repository:tag) and returns the manifest digest.
func Push(ctx context.Context, o RegistryOptions, ref string, src Source) (digest.Digest, error) {
	repo, err := o.repository(ref)
	if err != nil {
		return "", err
	}
	if repo.Reference.Reference == "" || strings.HasPrefix(repo.Reference.Reference, "sha256:") {
		return "", fmt.Errorf("image reference %q has no tag", ref)
	}
	cfg, err := json.Marshal(Config{CommandLine: src.CommandLine})
	if err != nil {
		return "", err
	}
	cfgDesc := content.NewDescriptorFromBytes(ConfigMediaType, cfg)
	if err := pushBytes(ctx, repo, cfgDesc, cfg); err != nil {
		return "", err
	}
	var layers []ocispec.Descriptor
	for _, part := range []struct{ mediaType, path string }{
		{RootFSMediaType, src.RootFS}, {KernelMediaType, src.Kernel}, {InitRAMFSMediaType, src.InitRAMFS},
	} {
		if part.path == "" {
			continue
		}
		b, err := os.ReadFile(part.path)
		if err != nil {
			return "", err
		}
		d := content.NewDescriptorFromBytes(part.mediaType, b)
		if err := pushBytes(ctx, repo, d, b); err != nil {
			return "", err
		}
		layers = append(layers, d)
	}
	if len(layers) == 0 {
		return "", fmt.Errorf("image %s has no kernel and no rootfs", ref)
	}
	m, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfgDesc, Layers: layers,
	})
	if err != nil {
		return "", err
	}
	md := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, m)
	if err := repo.PushReference(ctx, md, bytes.NewReader(m), repo.Reference.Reference); err != nil {
		return "", fmt.Errorf("pushing manifest of %s: %w", ref, err)
	}
	return md.Digest, nil
}

func pushBytes(ctx context.Context, repo *remote.Repository, d ocispec.Descriptor, b []byte) error {
	if ok, err := repo.Exists(ctx, d); err == nil && ok {
		return nil
	}
	if err := repo.Push(ctx, d, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("pushing %s (%s): %w", d.MediaType, d.Digest, err)
	}
	return nil
}
