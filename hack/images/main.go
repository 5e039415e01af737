// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command images builds the container images of ironfed without Docker or a registry (make images):
// one multi-binary image with every static binary under /usr/local/bin, and a pause image for the
// sandboxes of the test node clusters. Both are written as docker-archive tarballs, the format
// `ctr images import` and `kind load image-archive` take.
//
// Tags are reproducible: the ironfed image is tagged sha-<first 12 hex of its layer digest>, so the
// same sources and Go toolchain give the same tag and digest on every machine (every mtime is the
// epoch, paths are sorted, -trimpath). A tarball that already exists for a tag is not rewritten.
//
// Below the static binaries, a layer of this host's dynamically linked tools the providers run
// (qemu-img, for the libvirt provider's qcow2 disks) with exactly the shared libraries ldd resolves
// for them and the dynamic loader, at the paths ldd names: reproducible for the same Debian packages.
//
// cmd/ceph-volume-provider links librbd through cgo: it gets its own image (cephvolume.go), the
// cgo binary with the shared libraries ldd resolves for it, tagged by its content the same way.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/spf13/pflag"
)

// defaultBinaries are the commands packed into the image: everything under cmd/ that builds
// without cgo.
var defaultBinaries = []string{
	"ironfed-controller-manager",
	"machinepoollet", "volumepoollet", "bucketpoollet",
	"machinebroker", "volumebroker", "bucketbroker",
	"memory-provider", "libvirt-provider", "ceph-bucket-provider",
	"ironfed", "irictl", "iri-conformance",
}

type options struct {
	out        string
	repository string
	pauseImage string
	binaries   []string
	hostTools  []string
	arch       string
	// cephVolumeRepository of the ceph-volume-provider image; empty builds none.
	cephVolumeRepository string
	cephTags             string
}

func main() {
	o := options{}
	pflag.StringVar(&o.out, "out", defaultOut(), "Directory of the tarballs and of images.env (outside the repository).")
	pflag.StringVar(&o.repository, "repository", "ghcr.io/ironfed/ironfed", "Repository of the multi-binary image; the tag is derived from its content.")
	pflag.StringVar(&o.pauseImage, "pause-image", "registry.k8s.io/pause:3.10", "Name of the pause image (the node's containerd sandbox_image).")
	pflag.StringSliceVar(&o.binaries, "binaries", defaultBinaries, "Commands under cmd/ packed into the image.")
	var tools []string
	for _, t := range defaultHostTools {
		tools = append(tools, t.Source)
	}
	pflag.StringSliceVar(&o.hostTools, "host-tools", tools, "Dynamically linked host binaries put under /usr/local/bin with their shared libraries (empty: none).")
	pflag.StringVar(&o.cephVolumeRepository, "ceph-volume-repository", "ghcr.io/ironfed/ironfed-ceph-volume", "Repository of the ceph-volume-provider image (cgo, with its shared libraries); empty: not built.")
	pflag.StringVar(&o.cephTags, "ceph-tags", "ceph,pacific", "Go build tags of the cgo ceph-volume-provider (Debian 12 ships Ceph Pacific).")
	pflag.StringVar(&o.arch, "arch", runtime.GOARCH, "GOARCH of the binaries and the image.")
	pflag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func defaultOut() string {
	cache := os.Getenv("IRONFED_CACHE_DIR")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "ironfed")
	}
	return filepath.Join(cache, "images")
}

func run(o options) error {
	for _, b := range o.binaries {
		if b == "ceph-volume-provider" {
			return errors.New("ceph-volume-provider needs cgo and librbd: it has its own image (--ceph-volume-repository), not the static one")
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "ironfed-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)

	pkgs := []string{"./hack/images/pause"}
	for _, b := range o.binaries {
		pkgs = append(pkgs, "./cmd/"+b)
	}
	if err := goBuild(bin, o.arch, pkgs); err != nil {
		return err
	}

	s := spec{Dirs: []string{"/tmp", "/var/run"}, StickyDirs: []string{"/tmp"}, Env: []string{"PATH=/usr/local/bin"}, User: "65532:65532"}
	for _, b := range o.binaries {
		s.Files = append(s.Files, file{Path: "/usr/local/bin/" + b, Source: filepath.Join(bin, b), Mode: 0o755})
	}
	var below []spec
	if len(o.hostTools) > 0 {
		if o.arch != runtime.GOARCH {
			return fmt.Errorf("--host-tools are this host's binaries (%s): set --host-tools= for --arch=%s", runtime.GOARCH, o.arch)
		}
		var tools []hostTool
		for _, src := range o.hostTools {
			tools = append(tools, hostToolByPath(src))
		}
		files, err := hostToolFiles(tools)
		if err != nil {
			return err
		}
		below = append(below, spec{Files: files})
	}
	ironfed, err := buildImage(s, o.arch, below...)
	if err != nil {
		return err
	}
	tag, err := contentTag(ironfed)
	if err != nil {
		return err
	}
	ironfedRef := o.repository + ":" + tag
	ironfedTar, err := write(o.out, ironfedRef, ironfed)
	if err != nil {
		return err
	}
	if err := pruneOlder(o.out, o.repository, ironfedTar); err != nil {
		return err
	}

	pause, err := buildImage(spec{Files: []file{{Path: "/pause", Source: filepath.Join(bin, "pause"), Mode: 0o755}}, Entrypoint: []string{"/pause"}, User: "65535:65535"}, o.arch)
	if err != nil {
		return err
	}
	pauseTar, err := write(o.out, o.pauseImage, pause)
	if err != nil {
		return err
	}

	env := fmt.Sprintf("IRONFED_IMAGE=%s\nIRONFED_IMAGE_TAG=%s\nIRONFED_IMAGE_TAR=%s\nIRONFED_PAUSE_IMAGE=%s\nIRONFED_PAUSE_TAR=%s\n",
		ironfedRef, tag, ironfedTar, o.pauseImage, pauseTar)
	if o.cephVolumeRepository != "" {
		img, err := cephVolumeImage(bin, o.arch, o.cephTags)
		if err != nil {
			return err
		}
		cvTag, err := contentTag(img)
		if err != nil {
			return err
		}
		ref := o.cephVolumeRepository + ":" + cvTag
		tar, err := write(o.out, ref, img)
		if err != nil {
			return err
		}
		if err := pruneOlder(o.out, o.cephVolumeRepository, tar); err != nil {
			return err
		}
		env += fmt.Sprintf("IRONFED_CEPH_VOLUME_IMAGE=%s\nIRONFED_CEPH_VOLUME_IMAGE_TAG=%s\nIRONFED_CEPH_VOLUME_IMAGE_TAR=%s\n", ref, cvTag, tar)
	}
	if err := os.WriteFile(filepath.Join(o.out, "images.env"), []byte(env), 0o644); err != nil {
		return err
	}
	fmt.Print(env)
	return nil
}

// goBuild builds static binaries of pkgs into dir, reproducibly (no VCS stamp, trimmed paths).
func goBuild(dir, arch string, pkgs []string) error {
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", dir + "/"}, pkgs...)
	cmd := exec.Command("go", args...)
	// GOFLAGS is dropped: make adds the Ceph cgo tags, which these static binaries must not get.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// pruneOlder removes the tarballs of earlier content tags of repository, so the cache holds one.
func pruneOlder(dir, repository, keep string) error {
	old, err := filepath.Glob(filepath.Join(dir, tarName(repository+":sha-")+"*.tar"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if f != keep {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return nil
}

func tarName(ref string) string { return strings.NewReplacer("/", "_", ":", "_").Replace(ref) }

// write saves img as a docker-archive under ref's name, unless a tarball with the same image is
// already there.
func write(dir, ref string, img v1.Image) (string, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("image name %q: %w", ref, err)
	}
	file := filepath.Join(dir, tarName(ref)+".tar")
	want, err := img.Digest()
	if err != nil {
		return "", err
	}
	if old, err := tarball.ImageFromPath(file, &tag); err == nil {
		if have, err := old.Digest(); err == nil && have == want {
			return file, nil
		}
	}
	tmp := file + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return "", err
	}
	return file, os.Rename(tmp, file)
}
