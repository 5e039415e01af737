// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch is every timestamp in an image (file mtimes, created): the same binaries give the same
// digest on any machine and any day.
var epoch = time.Unix(0, 0).UTC()

// file is one regular file of an image layer.
type file struct {
	// Path inside the image, absolute.
	Path string
	// Source is read from the host.
	Source string
	Mode   int64
}

// spec is what an image holds besides its files.
type spec struct {
	Files      []file
	Dirs       []string // created with mode 1777 (for /tmp) when listed in StickyDirs, else 0755
	StickyDirs []string
	Entrypoint []string
	Env        []string
	User       string
}

// layerTar writes a deterministic tar of the spec's directories and files: sorted paths, root
// owner, fixed mtimes, no host metadata.
func layerTar(s spec) ([]byte, error) {
	type entry struct {
		hdr *tar.Header
		src string
	}
	var entries []entry
	dirs := map[string]bool{}
	addDir := func(d string, mode int64) {
		for p := d; p != "/" && p != "." && !dirs[p]; p = path.Dir(p) {
			dirs[p] = true
			m := int64(0o755)
			if p == d {
				m = mode
			}
			entries = append(entries, entry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: p[1:] + "/", Mode: m, ModTime: epoch}})
		}
	}
	for _, d := range s.Dirs {
		mode := int64(0o755)
		if slices.Contains(s.StickyDirs, d) {
			mode = 0o1777
		}
		addDir(d, mode)
	}
	for _, f := range s.Files {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("image path %q is not absolute", f.Path)
		}
		addDir(path.Dir(f.Path), 0o755)
		fi, err := os.Stat(f.Source)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{hdr: &tar.Header{Typeflag: tar.TypeReg, Name: f.Path[1:], Mode: f.Mode, Size: fi.Size(), ModTime: epoch}, src: f.Source})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.hdr.Name < b.hdr.Name:
			return -1
		case a.hdr.Name > b.hdr.Name:
			return 1
		}
		return 0
	})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		e.hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(e.hdr); err != nil {
			return nil, err
		}
		if e.src == "" {
			continue
		}
		if err := copyFile(tw, e.src, e.hdr.Size); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func copyFile(w io.Writer, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s changed size while being archived (%d, then %d bytes)", src, size, n)
	}
	return nil
}

// buildImage is a linux image of the spec: one layer of its files, after one layer per spec in
// below (files only, e.g. host binaries with their shared libraries, which change less often).
func buildImage(s spec, arch string, below ...spec) (v1.Image, error) {
	img := empty.Image
	for _, ls := range append(below, s) {
		data, err := layerTar(ls)
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			return nil, err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.Env = s.Env
	cf.Config.User = s.User
	cf.History = nil
	for range len(below) + 1 {
		cf.History = append(cf.History, v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "hack/images"})
	}
	return mutate.ConfigFile(img, cf)
}

// contentTag is sha- and 12 hex of the image's one layer digest (uncompressed), or of the SHA-256
// of its layers' digests when it has several: a name that changes exactly when the content does.
func contentTag(img v1.Image) (string, error) {
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	if len(layers) == 0 {
		return "", fmt.Errorf("image without layers")
	}
	var ids []string
	for _, l := range layers {
		h, err := l.DiffID()
		if err != nil {
			return "", err
		}
		ids = append(ids, h.String())
	}
	if len(ids) == 1 {
		return "sha-" + strings.TrimPrefix(ids[0], "sha256:")[:12], nil
	}
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return "sha-" + hex.EncodeToString(sum[:])[:12], nil
}
