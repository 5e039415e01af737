package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func testSpec(t *testing.T) spec {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for p, data := range map[string]string{a: "#!/bin/true\n", b: "second binary"} {
		if err := os.WriteFile(p, []byte(data), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return spec{
		Files:      []file{{Path: "/usr/local/bin/b", Source: b, Mode: 0o755}, {Path: "/usr/local/bin/a", Source: a, Mode: 0o755}},
		Dirs:       []string{"/tmp", "/var/run"},
		StickyDirs: []string{"/tmp"},
		Env:        []string{"PATH=/usr/local/bin"},
	}
}

// The same files give the same digest and tag, whatever their mtimes and the order they are listed in.
func TestImageIsReproducible(t *testing.T) {
	s := testSpec(t)
	img1, err := buildImage(s, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for _, f := range s.Files {
		if err := os.Chtimes(f.Source, later, later); err != nil {
			t.Fatal(err)
		}
	}
	s.Files[0], s.Files[1] = s.Files[1], s.Files[0]
	img2, err := buildImage(s, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img1.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Fatalf("digests differ: %s vs %s", d1, d2)
	}
	tag1, _ := contentTag(img1)
	tag2, _ := contentTag(img2)
	if tag1 != tag2 || len(tag1) != len("sha-")+12 {
		t.Fatalf("tags %q and %q", tag1, tag2)
	}

	// A changed byte changes the tag.
	if err := os.WriteFile(s.Files[0].Source, []byte("changed"), 0o700); err != nil {
		t.Fatal(err)
	}
	img3, err := buildImage(s, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if tag3, _ := contentTag(img3); tag3 == tag1 {
		t.Fatalf("tag %s did not change with the content", tag3)
	}
}

// The docker-archive round-trips: the name, the files and the config are what ctr import sees.
func TestWriteTarball(t *testing.T) {
	img, err := buildImage(testSpec(t), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := write(dir, "example.test/ironfed:sha-000000000000", img)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("example.test/ironfed:sha-000000000000")
	back, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got, _ := back.Digest(); got != want {
		t.Fatalf("read back %s, wrote %s", got, want)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(epoch) {
		t.Fatalf("config %s/%s created %s", cf.OS, cf.Architecture, cf.Created)
	}
	st1, _ := os.Stat(path)
	// A second write of the same image leaves the file alone.
	if _, err := write(dir, "example.test/ironfed:sha-000000000000", img); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Fatal("an unchanged image was rewritten")
	}
	if _, err := layerTar(spec{Files: []file{{Path: "relative", Source: path}}}); err == nil {
		t.Fatal("a relative image path was accepted")
	}
}

// Only the newest content tag of the repository stays in the cache; other images are left alone.
func TestPruneOlder(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"r.test_x_sha-111111111111.tar", "r.test_x_sha-222222222222.tar", "registry.k8s.io_pause_3.10.tar"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(dir, "r.test_x_sha-222222222222.tar")
	if err := pruneOlder(dir, "r.test/x", keep); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 2 || left[0] != keep || filepath.Base(left[1]) != "registry.k8s.io_pause_3.10.tar" {
		t.Fatalf("left %v", left)
	}
}

func TestParseLdd(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n"
	got, err := parseLdd("x", out)
	if err != nil || !slices.Equal(got, []string{"/lib/x86_64-linux-gnu/libz.so.1", "/lib64/ld-linux-x86-64.so.2"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := parseLdd("x", "\tlibfoo.so.1 => not found\n"); err == nil || !strings.Contains(err.Error(), "libfoo") {
		t.Fatalf("a missing library: %v", err)
	}
}

// The host tools' layer holds the tool and every library it needs, and sits below the binaries.
func TestHostToolsLayer(t *testing.T) {
	files, err := hostToolFiles(defaultHostTools)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, f := range files {
		paths[f.Path] = true
	}
	for _, want := range []string{"/usr/local/bin/qemu-img", "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"} {
		if !paths[want] {
			t.Errorf("%s missing from %v", want, paths)
		}
	}
	img, err := buildImage(testSpec(t), "amd64", spec{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2", len(layers))
	}
	if tag, err := contentTag(img); err != nil || len(tag) != len("sha-")+12 {
		t.Fatalf("tag %q: %v", tag, err)
	}
}
