package leafcharts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/ceph/localceph"
)

// cephVolumeImage runs ceph-volume-provider from make images' ceph-volume image, with nothing of
// the host but the kernel and its network: the image's files unpacked and chrooted into, as the
// image's user. It proves the image holds every library the cgo binary loads. (Not as a pod: the
// one-node Ceph answers on the host's loopback, and RADOS clients need the monitors' and OSDs'
// own addresses, which a pod in the node's network namespace cannot reach.)
func cephVolumeImage(t *testing.T, tar, dir string, ceph *localceph.Cluster) {
	root := filepath.Join(dir, "ceph-volume-image")
	begin := time.Now()
	img, err := tarball.ImageFromPath(tar, nil)
	if err != nil {
		t.Fatalf("the ceph-volume image %s: %v (run make images)", tar, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	untar := exec.Command("tar", "-x", "-C", root)
	untar.Stdin = rc
	out, err := untar.CombinedOutput()
	rc.Close()
	if err != nil {
		t.Fatalf("unpacking %s: %v: %s", tar, err, out)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var uid, gid uint32
	if _, err := fmt.Sscanf(cf.Config.User, "%d:%d", &uid, &gid); err != nil {
		t.Fatalf("image user %q: %v", cf.Config.User, err)
	}
	for _, d := range []string{"var/run", "tmp"} {
		if err := os.Chown(filepath.Join(root, d), int(uid), int(gid)); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "ceph-volume-provider.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command("/usr/local/bin/ceph-volume-provider", "--socket=/var/run/iri-volumeprovider.sock",
		"--ceph-monitors="+ceph.MonAddrs, "--pool="+ceph.Pool, "--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Env = cf.Config.Env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("ceph-volume-provider's log:\n%s", b)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	conn, err := remote.Dial(ctx, "unix://"+filepath.Join(root, "var/run/iri-volumeprovider.sock"), remote.WithDialTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Logf("timing: ceph-volume image unpacked and its provider serving %s after the start", time.Since(begin).Round(time.Millisecond))
	rt := volumev1alpha1.NewVolumeRuntimeClient(conn)
	const size = 96 << 20
	res, err := rt.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"test": "leafcharts"}},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: size}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.GetVolume().GetMetadata().GetId()
	var v *volumev1alpha1.Volume
	for {
		l, err := rt.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: id}})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.GetVolumes()) == 1 && l.GetVolumes()[0].GetStatus().GetState() == volumev1alpha1.VolumeState_VOLUME_AVAILABLE {
			v = l.GetVolumes()[0]
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("volume %s not Available: %v", id, l.GetVolumes())
		case <-time.After(200 * time.Millisecond):
		}
	}
	// From Ceph itself: the RBD image exists at the requested size.
	handle := v.GetStatus().GetAccess().GetHandle()
	info, err := exec.CommandContext(ctx, "rbd", "-c", ceph.ConfPath, "info", handle, "--format=json").CombinedOutput()
	if err != nil {
		t.Fatalf("rbd info %s: %v: %s", handle, err, info)
	}
	var got struct {
		Size int64 `json:"size"`
	}
	if err := json.Unmarshal(info, &got); err != nil || got.Size != size {
		t.Fatalf("rbd info %s: size %d (%v), want %d: %s", handle, got.Size, err, size, strings.TrimSpace(string(info)))
	}
	t.Logf("volume %s Available; Ceph has RBD image %s of %d bytes", id, handle, got.Size)
	if _, err := rt.DeleteVolume(ctx, &volumev1alpha1.DeleteVolumeRequest{VolumeId: id}); err != nil {
		t.Fatal(err)
	}
}
