// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cephVolumeImage is the image of cmd/ceph-volume-provider, which links librados and librbd
// through cgo: the binary built against this host's Ceph libraries (Debian 12: Pacific, hence the
// tags) in one layer with every shared library ldd resolves for it (librbd, librados,
// libceph-common under its RUNPATH, libstdc++, libssl, boost, ...) and the dynamic loader, at the
// paths ldd names. Its own image: it is 2-3 times the size of the static image and only a
// ceph-volume leaf needs it.
func cephVolumeImage(dir, arch, tags string) (v1.Image, error) {
	if arch != runtime.GOARCH {
		return nil, fmt.Errorf("ceph-volume-provider links this host's libraries (%s): it cannot be built for --arch=%s (set --ceph-volume-repository=)", runtime.GOARCH, arch)
	}
	if err := cgoBuild(dir, tags, "./cmd/ceph-volume-provider"); err != nil {
		return nil, err
	}
	files, err := dynamicFiles(map[string]string{"/usr/local/bin/ceph-volume-provider": filepath.Join(dir, "ceph-volume-provider")})
	if err != nil {
		return nil, err
	}
	return buildImage(spec{Files: files, Dirs: []string{"/tmp", "/var/run"}, StickyDirs: []string{"/tmp"},
		Env: []string{"PATH=/usr/local/bin"}, User: "65532:65532"}, arch)
}

// cgoBuild builds pkg with cgo and the given tags into dir, as reproducibly as goBuild (trimmed
// paths, no VCS stamp, stripped; Go maps its work directory out of the C objects).
func cgoBuild(dir, tags, pkg string) error {
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-tags=" + tags, "-o", dir + "/", pkg}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s (needs Ceph's headers: make ceph-prereqs): %w", strings.Join(args, " "), err)
	}
	return nil
}
