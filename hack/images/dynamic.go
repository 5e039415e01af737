// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// hostTool is a dynamically linked binary of this host that a provider runs (the libvirt provider
// runs qemu-img for qcow2 disks), with the Debian package that has it.
type hostTool struct {
	Source, Package string
}

// defaultHostTools go into their own layer under /usr/local/bin, with their shared libraries.
var defaultHostTools = []hostTool{{Source: "/usr/bin/qemu-img", Package: "qemu-utils"}}

// dynamicFiles are the files that run the dynamically linked binaries bins (image path → host path)
// in an image without a libc: each binary, every shared library ldd resolves for it at the path ldd
// names (RUNPATHs and the loader's default directories stay valid), and the dynamic loader. Symlinks
// are copied as the files they name. A library ldd cannot find is an error.
func dynamicFiles(bins map[string]string) ([]file, error) {
	seen := map[string]bool{}
	var out []file
	for _, dst := range slices.Sorted(func(yield func(string) bool) {
		for k := range bins {
			if !yield(k) {
				return
			}
		}
	}) {
		src := bins[dst]
		out = append(out, file{Path: dst, Source: src, Mode: 0o755})
		libs, err := sharedLibraries(src)
		if err != nil {
			return nil, err
		}
		for _, l := range libs {
			if !seen[l] {
				seen[l] = true
				out = append(out, file{Path: l, Source: l, Mode: 0o755})
			}
		}
	}
	return out, nil
}

// sharedLibraries runs ldd on bin and returns the absolute paths it resolves, the loader included.
func sharedLibraries(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w: %s", bin, err, strings.TrimSpace(string(out)))
	}
	return parseLdd(bin, string(out))
}

// parseLdd reads ldd's lines "name => /path (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)" and
// "linux-vdso.so.1 (0x...)" (the kernel's, no file).
func parseLdd(bin, out string) ([]string, error) {
	var libs []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.Contains(line, "not found") {
			return nil, fmt.Errorf("%s: a shared library is missing on this host: %s", bin, line)
		}
		p := line
		if _, after, ok := strings.Cut(line, "=>"); ok {
			p = strings.TrimSpace(after)
		}
		p, _, _ = strings.Cut(p, " (")
		if !path.IsAbs(p) {
			continue // linux-vdso.so.1 and statically linked binaries
		}
		libs = append(libs, filepath.Clean(p))
	}
	return libs, nil
}

// hostToolByPath is the default tool with that path, or one without a known package.
func hostToolByPath(src string) hostTool {
	for _, t := range defaultHostTools {
		if t.Source == src {
			return t
		}
	}
	return hostTool{Source: src, Package: "the package that has it"}
}

// hostToolFiles resolves the host tools for the image: each under /usr/local/bin with its libraries.
// A missing tool names the package to install.
func hostToolFiles(tools []hostTool) ([]file, error) {
	bins := map[string]string{}
	for _, t := range tools {
		if _, err := os.Stat(t.Source); err != nil {
			return nil, fmt.Errorf("%s is not installed (apt-get install %s, or make leaf-libvirt): %w", t.Source, t.Package, err)
		}
		bins["/usr/local/bin/"+filepath.Base(t.Source)] = t.Source
	}
	return dynamicFiles(bins)
}
