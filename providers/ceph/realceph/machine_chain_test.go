// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package realceph

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/crds"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	fedconsole "github.com/ironfed/ironfed/federation/console"
	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/federation/localfed/realleaf"
	"github.com/ironfed/ironfed/federation/topology"
	"github.com/ironfed/ironfed/providers/ceph/volume/rbd"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/consoletest"
)

// guestWait bounds each wait for the guest: a TCG boot takes 25-150 s on two loaded cores.
const guestWait = 5 * time.Minute

// TestMachineThroughTheChain: a root → region → leaf federation whose leaf runs the libvirt
// provider (a private libvirtd, QEMU/TCG) and the Ceph volume provider. A Volume and a Machine
// created at the ROOT become an RBD image and a QEMU guest at the leaf, and the guest proves it from
// its serial console: it booted the image from the local registry with the root Machine's ignition
// (same sha256 as the bytes in the root's Secret), it sees the Ceph disk with its serial and the
// marker the test wrote through librbd with the credentials that reached the root, and the marker
// the guest wrote back is read through librbd. A second Volume attached to the running Machine at
// the root, and growing the first one there, are seen in the guest.
// Deleting at the root empties every level: no Machine or Volume in any cluster, no domain, no
// machine directory, no RBD image. One guest boots.
// Every component runs as its own binary with its Helm chart's flags, the leaf's libvirt and Ceph
// providers included: what `make run-leaf` runs.
func TestMachineThroughTheChain(t *testing.T) {
	c := needCluster(t)
	guest, registry := os.Getenv("IRONFED_LIBVIRT_GUEST"), os.Getenv("IRONFED_REGISTRY_BIN")
	if guest == "" || registry == "" {
		t.Fatal("IRONFED_LIBVIRT_GUEST and IRONFED_REGISTRY_BIN are not set: run `make test`, or hack/leaf-libvirt.sh and export what it prints")
	}
	binDir := os.Getenv(localfed.BinDirEnv)
	if binDir == "" {
		t.Fatalf("$%s is not set: run `make test`, or `make leaf-binaries` and export %s=$(hack/component-binaries.sh --print)", localfed.BinDirEnv, localfed.BinDirEnv)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "ironfed-realleaf-")
	if err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	start := time.Now()
	leaves, err := realleaf.Start(ctx, realleaf.Options{
		Dir: dir, Libvirt: &realleaf.LibvirtOptions{GuestDir: guest, RegistryBinary: registry},
		Ceph: &realleaf.CephOptions{Cluster: c}, Log: testr.New(t), Progress: &progress, BinDir: binDir,
	})
	if err != nil {
		t.Fatalf("real leaves: %v\n%s", err, progress.String())
	}
	t.Cleanup(func() {
		if err := leaves.Stop(); err != nil {
			t.Errorf("stopping the real leaves: %v", err)
		}
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("leaf state and logs kept in %s", dir)
		}
	})
	leavesUp := time.Since(start)

	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	prov := leaves.ProviderConfig(memory.DefaultConfig())
	// Beside the leaves' state, so that the components' logs stay when the test fails.
	fed, err := localfed.Up(ctx, localfed.Options{
		Dir: filepath.Join(dir, "federation"), Topology: topology.Default(), CRDs: defs, Provider: &prov, Progress: &progress, LeafProcesses: leaves.Processes, BinDir: binDir,
	})
	if err != nil {
		t.Fatalf("federation: %v\n%s", err, progress.String())
	}
	t.Cleanup(func() {
		if err := fed.Down(); err != nil {
			t.Errorf("federation down: %v", err)
		}
	})
	t.Logf("real leaves up in %s, federation up %s later", leavesUp.Round(100*time.Millisecond), (time.Since(start) - leavesUp).Round(100*time.Millisecond))
	root := fed.Client("root")
	token := randHex(8)

	// The Volume first: its marker is written through librbd, with what reached the root, before boot.
	vol := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "data"},
		Spec: storagev1alpha1.VolumeSpec{VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources: commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("64Mi")}}}
	created := time.Now()
	if err := root.Create(ctx, vol); err != nil {
		t.Fatal(err)
	}
	waitRoot(t, ctx, root, vol, func() bool {
		return vol.Status.State == storagev1alpha1.VolumeStateAvailable && vol.Status.Access != nil && vol.Status.Access.SecretRef != nil
	})
	t.Logf("volume Available at the root %s after creation", time.Since(created).Round(10*time.Millisecond))
	conn, image := rootVolumeConn(t, ctx, root, vol)
	marker := "IRONFED-MARKER-" + token
	if err := conn.WriteAt(ctx, image, nil, []byte(marker), 0); err != nil {
		t.Fatalf("writing the marker with the root's credentials: %v", err)
	}

	ignition := []byte(`{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/token","contents":{"source":"data:,` + token + `"}}]}}`)
	if err := root.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vm-ignition"},
		Data: map[string][]byte{computev1alpha1.DefaultIgnitionKey: ignition}}); err != nil {
		t.Fatal(err)
	}
	oda, odb := "oda", "odb"
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vm"},
		Spec: computev1alpha1.MachineSpec{
			MachineClassRef: commonv1alpha1.LocalObjectReference{Name: realleaf.DefaultMachineClasses()[0].Name},
			Power:           computev1alpha1.PowerOn,
			IgnitionRef:     &commonv1alpha1.SecretKeySelector{Name: "vm-ignition"},
			Volumes: []computev1alpha1.Volume{
				{Name: "root", Device: &oda, VolumeSource: computev1alpha1.VolumeSource{LocalDisk: &computev1alpha1.LocalDiskVolumeSource{Image: leaves.Machines.ImageRef}}},
				{Name: "data", Device: &odb, VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "data"}}},
			},
		}}
	created = time.Now()
	if err := root.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitRoot(t, ctx, root, m, func() bool { return m.Status.State == computev1alpha1.MachineStateRunning })
	t.Logf("machine Running at the root %s after creation", time.Since(created).Round(100*time.Millisecond))

	// The leaf's one guest, and its console.
	ids, err := leaves.Machines.IDs(ctx)
	if err != nil || len(ids) != 1 {
		t.Fatalf("machines at the libvirt leaf: %v, %v; want 1", ids, err)
	}
	id := ids[0]
	console := &consoletest.SerialLog{T: t, Path: leaves.Machines.ConsoleLog(id), Timeout: guestWait}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of %s:\n%s", id, console.Read())
		}
	})
	console.Wait(`IRONFED-GUEST boot reached`, 1)
	t.Logf("guest booted %s after the root Machine was created", time.Since(created).Round(100*time.Millisecond))
	sum := sha256.Sum256(ignition)
	console.Wait(fmt.Sprintf("IRONFED-GUEST ignition sha256=%s bytes=%d", hex.EncodeToString(sum[:]), len(ignition)), 1)
	console.WaitRE(`IRONFED-GUEST disk vd[a-z]+ serial=data sectors=`+fmt.Sprint(64<<20/512)+`\b`, 1)
	console.WaitRE(`IRONFED-GUEST disk vd[a-z]+ marker=`+marker+`\b`, 1)
	wrote := "IRONFED-GUEST-WROTE-" + token
	console.WaitRE(`IRONFED-GUEST disk vd[a-z]+ wrote=`+wrote+`\b`, 1)
	t.Logf("guest ready %s after the root Machine was created", time.Since(created).Round(100*time.Millisecond))
	back := make([]byte, len(wrote))
	if err := conn.ReadAt(ctx, image, nil, back, 4096); err != nil || string(back) != wrote {
		t.Fatalf("read back what the guest wrote: %q, %v; want %q", back, err, wrote)
	}
	shellFromRoot(t, ctx, fed, client.ObjectKeyFromObject(m))
	restartLibvirtProvider(t, ctx, fed, leaves, id)

	// Hot attach: a second Ceph Volume added to the running Machine at the root shows up in the guest.
	extra := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "extra"},
		Spec: storagev1alpha1.VolumeSpec{VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources: commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("32Mi")}}}
	attached := time.Now()
	if err := root.Create(ctx, extra); err != nil {
		t.Fatal(err)
	}
	waitRoot(t, ctx, root, extra, func() bool {
		return extra.Status.State == storagev1alpha1.VolumeStateAvailable && extra.Status.Access != nil
	})
	_, extraImage, _ := strings.Cut(extra.Status.Access.Handle, "/")
	odc := "odc"
	if err := root.Get(ctx, client.ObjectKeyFromObject(m), m); err != nil {
		t.Fatal(err)
	}
	m.Spec.Volumes = append(m.Spec.Volumes, computev1alpha1.Volume{Name: "extra", Device: &odc,
		VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "extra"}}})
	if err := root.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	console.WaitRE(`IRONFED-GUEST disk vd[a-z]+ serial=extra sectors=`+fmt.Sprint(32<<20/512)+`\b`, 1)
	t.Logf("guest saw the volume hot-attached at the root %s after the Volume's creation", time.Since(attached).Round(100*time.Millisecond))

	// Grow the Volume at the root: the guest sees the new size.
	grown := time.Now()
	if err := root.Get(ctx, client.ObjectKeyFromObject(vol), vol); err != nil {
		t.Fatal(err)
	}
	vol.Spec.Resources[commonv1alpha1.ResourceStorage] = resource.MustParse("128Mi")
	if err := root.Update(ctx, vol); err != nil {
		t.Fatal(err)
	}
	console.WaitRE(`IRONFED-GUEST disk vd[a-z]+ serial=data sectors=`+fmt.Sprint(128<<20/512)+`\b`, 1)
	t.Logf("guest saw the volume grown at the root %s later", time.Since(grown).Round(100*time.Millisecond))
	for _, l := range strings.Split(console.Read(), "\n") { // the evidence, as the guest printed it
		if i := strings.Index(l, "IRONFED-GUEST"); i >= 0 {
			t.Log(strings.TrimSpace(l[i:]))
		}
	}

	// Delete at the root: every level empties, the domain, its directory and the RBD image go.
	deleted := time.Now()
	for _, o := range []client.Object{m, vol, extra} {
		if err := root.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, cl := range []string{"root", "region", "leaf"} {
			var ms computev1alpha1.MachineList
			var vs storagev1alpha1.VolumeList
			if err := fed.Client(cl).List(ctx, &ms); err != nil || len(ms.Items) > 0 {
				return false, nil
			}
			if err := fed.Client(cl).List(ctx, &vs); err != nil || len(vs.Items) > 0 {
				return false, nil
			}
		}
		images, err := conn.ListImages(ctx)
		ids, lerr := leaves.Machines.IDs(ctx)
		return err == nil && lerr == nil && !slices.Contains(images, image) && !slices.Contains(images, extraImage) && len(ids) == 0, nil
	})
	if err != nil {
		t.Fatalf("objects left after deleting at the root: %v", err)
	}
	l, err := leaves.Machines.Daemon.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Disconnect() }()
	if _, err := l.DomainLookupByName(id); err == nil {
		t.Errorf("domain %s still defined after deleting at the root", id)
	}
	if _, err := os.Stat(filepath.Join(leaves.Machines.RootDir, "machines", id)); !os.IsNotExist(err) {
		t.Errorf("machine directory of %s still there after deleting at the root (%v)", id, err)
	}
	t.Logf("every level empty %s after deleting at the root (domain, machine directory and RBD images gone)", time.Since(deleted).Round(100*time.Millisecond))
}

// shellFromRoot opens the Machine's console at the root, as `ironfed console` does (root
// machinepoollet → root→region broker → region machinepoollet → region→leaf broker → leaf
// machinepoollet → libvirt provider → the guest's serial pty, every TLS hop verified against its
// cluster's CA), types a shell command that reads the disks' serials in the guest and reads the
// answer back: a command typed at the root runs in the guest.
func shellFromRoot(t *testing.T, ctx context.Context, fed *localfed.Federation, key types.NamespacedName) {
	t.Helper()
	u, err := fedconsole.URL(ctx, fed.Client("root"), fedconsole.Options{Machine: key})
	if err != nil {
		t.Fatalf("console of %s at the root: %v", key, err)
	}
	u.RawQuery = "input=1&output=1&tty=1"
	e, err := fedconsole.Executor(fed.Config("root"), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	s := consoletest.Start(ctx, e, true)
	defer func() { _ = s.Close(10 * time.Second) }()
	// The answer is computed in the guest: the typed line holds neither "EXEC-42-" nor a serial.
	const cmd = "for f in /sys/block/vd*/serial; do echo \"EXEC-$((6*7))-$(cat $f)\"; done\n"
	for attempt := 0; ; attempt++ {
		if err := s.Type("\n" + cmd); err != nil {
			t.Fatalf("typing at the root: %v", err)
		}
		err := s.WaitFor("EXEC-42-data", time.Minute)
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("the guest never answered the command typed at the root: %v; console output:\n%s", err, s.Output())
		}
	}
	t.Logf("shell command typed at the root answered by the guest %s after the console opened (EXEC-42-data: the data disk's serial)", time.Since(opened).Round(100*time.Millisecond))
}

// waitRoot polls obj at the root until ready, up to guestWait.
func waitRoot(t *testing.T, ctx context.Context, root client.Client, obj client.Object, ready func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, guestWait, true, func(ctx context.Context) (bool, error) {
		if err := root.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return ready(), nil
	})
	if err != nil {
		t.Fatalf("%T %s at the root: %v; now %+v", obj, obj.GetName(), err, obj)
	}
}

// rootVolumeConn opens the volume's RBD image with the access that reached the root.
func rootVolumeConn(t *testing.T, ctx context.Context, root client.Client, vol *storagev1alpha1.Volume) (rbd.Conn, string) {
	t.Helper()
	secret := &corev1.Secret{}
	if err := root.Get(ctx, client.ObjectKey{Namespace: vol.Namespace, Name: vol.Status.Access.SecretRef.Name}, secret); err != nil {
		t.Fatal(err)
	}
	pool, image, ok := strings.Cut(vol.Status.Access.Handle, "/")
	if vol.Status.Access.Driver != "ceph" || !ok {
		t.Fatalf("root access %+v: want driver ceph and handle pool/image", vol.Status.Access)
	}
	conn, err := rbd.Open(ctx, rbd.Options{Monitors: vol.Status.Access.VolumeAttributes["monitors"],
		User: string(secret.Data["userID"]), Key: string(secret.Data["userKey"]), Pool: pool})
	if err != nil {
		t.Fatalf("librbd with the root's credentials: %v", err)
	}
	t.Cleanup(conn.Close)
	return conn, image
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// restartLibvirtProvider kills the leaf's libvirt-provider process (SIGKILL, as a crashed
// container), waits for its supervisor to start it again and for the new process to list the
// running guest id: it adopts the guest. What follows in the test goes through the new process.
func restartLibvirtProvider(t *testing.T, ctx context.Context, fed *localfed.Federation, leaves *realleaf.Leaves, id string) {
	t.Helper()
	var p *localfed.Process
	for _, q := range fed.Processes() {
		if q.Binary == "libvirt-provider" {
			p = q
		}
	}
	if p == nil || p.PID() == 0 {
		t.Fatalf("no running libvirt-provider process among the federation's processes")
	}
	old := p.PID()
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ids []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if pid := p.PID(); pid == 0 || pid == old {
			return false, nil
		}
		var err error
		ids, err = leaves.Machines.IDs(ctx)
		return err == nil, nil
	})
	if err != nil || !slices.Equal(ids, []string{id}) {
		t.Fatalf("libvirt-provider after SIGKILL of pid %d: pid %d, machines %v (%v); want it restarted with machine %s", old, p.PID(), ids, err, id)
	}
	t.Logf("libvirt-provider killed (pid %d), restarted as pid %d and listing the running guest again %s later", old, p.PID(), time.Since(killed).Round(100*time.Millisecond))
}
