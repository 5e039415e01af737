package leafcharts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ironfed/ironfed/providers/ceph/localceph"
)

// checkVolume waits for Volume default/data of the ceph-volume release to become Available and
// checks it on the Ceph side: its handle names an RBD image of exactly volumeBytes, its access
// names the monitors the chart was given. It returns the image (pool/name).
func checkVolume(t *testing.T, kc *kubectl, ceph *localceph.Cluster, created time.Time) string {
	t.Helper()
	kc.run("-n", "default", "wait", "volume/data", "--for=jsonpath={.status.state}=Available", "--timeout=3m")
	t.Logf("timing: Volume Available %s after kubectl apply", time.Since(created).Round(time.Millisecond))
	// The release announces the only VolumePool, named after it.
	if pool := kc.run("-n", "default", "get", "volume/data", "-o", "jsonpath={.spec.volumePoolRef.name}"); pool != "volumes" {
		t.Errorf("volume scheduled onto pool %q, want the ceph-volume release's \"volumes\"", pool)
	}
	handle := kc.run("-n", "default", "get", "volume/data", "-o", "jsonpath={.status.access.handle}")
	if mons := kc.run("-n", "default", "get", "volume/data", "-o", "jsonpath={.status.access.volumeAttributes.monitors}"); mons != ceph.MonAddrs {
		t.Errorf("volume access monitors %q, want %q (the chart's)", mons, ceph.MonAddrs)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	info, err := exec.CommandContext(ctx, "rbd", "-c", ceph.ConfPath, "info", handle, "--format=json").CombinedOutput()
	if err != nil {
		t.Fatalf("rbd info %q (the Volume's handle): %v: %s", handle, err, info)
	}
	var got struct {
		Size int64 `json:"size"`
	}
	if err := json.Unmarshal(info, &got); err != nil || got.Size != volumeBytes {
		t.Fatalf("rbd info %s: size %d (%v), want %d: %s", handle, got.Size, err, volumeBytes, strings.TrimSpace(string(info)))
	}
	// The listing the deletion is checked against names it, so its absence later means something.
	if images, err := rbdImages(ctx, ceph); err != nil || !slices.Contains(images, handle) {
		t.Fatalf("rbd ls: %v (%v) lacks the Volume's %s", images, err, handle)
	}
	t.Logf("Volume Available; Ceph has RBD image %s of %d bytes", handle, got.Size)
	return handle
}

// rbdImages lists the images of the cluster's pool as pool/name, as Ceph itself sees them.
func rbdImages(ctx context.Context, ceph *localceph.Cluster) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rbd", "-c", ceph.ConfPath, "ls", ceph.Pool, "--format=json").Output()
	if err != nil {
		return nil, fmt.Errorf("rbd ls %s: %w", ceph.Pool, err)
	}
	var names []string
	if err := json.Unmarshal(out, &names); err != nil {
		return nil, fmt.Errorf("rbd ls %s: %w: %s", ceph.Pool, err, out)
	}
	for i, n := range names {
		names[i] = ceph.Pool + "/" + n
	}
	return names, nil
}
