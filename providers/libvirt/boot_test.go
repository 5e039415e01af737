package libvirt_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/libvirt"
	"github.com/ironfed/ironfed/providers/libvirt/image"
	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
	"github.com/ironfed/ironfed/test/consoletest"
)

// guestWait bounds each wait for the guest: a TCG boot takes 25-150 s on two loaded cores.
const guestWait = 5 * time.Minute

// TestGuestBoot boots the test guest (hack/leaf-libvirt.sh) from an image pushed to a local registry
// and proves from its serial console: its ignition is the IRI ignition, eth0 has the IRI MAC and reaches
// a test server on the host, the attached disk has its serial, a hot-attached disk and a resize are
// seen, power off (ACPI) and on work, and after delete nothing of the machine remains. One guest only.
func TestGuestBoot(t *testing.T) {
	needDaemon(t)
	guest := os.Getenv("IRONFED_LIBVIRT_GUEST")
	if guest == "" {
		t.Fatal("IRONFED_LIBVIRT_GUEST is not set: run `make test`, or hack/leaf-libvirt.sh and export what it prints")
	}
	reg := startRegistry(t)
	token := randHex(8)
	probe := serveProbe(t, "IRONFED-PROBE-"+token)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	ref := reg.Host + "/guest:" + token
	opts := image.RegistryOptions{PlainHTTP: []string{reg.Host}}
	if _, err := image.Push(ctx, opts, ref, image.Source{
		Kernel: filepath.Join(guest, "vmlinuz"), InitRAMFS: filepath.Join(guest, "initramfs.gz"),
		CommandLine: "console=ttyS0 panic=-1 quiet ironfed.probe=10.0.2.2:" + probe + "/probe",
	}); err != nil {
		t.Fatal(err)
	}
	root := shortTempDir(t)
	s := startProvider(t, root, func(c *libvirt.Config) {
		c.Registry = opts
		c.ShutdownTimeout = 3 * time.Minute // the guest must power itself off, not be destroyed
	})
	client := dial(t, s.endpoint)

	ignition := []byte(`{"ignition":{"version":"3.4.0"},"test":"` + token + `"}`)
	const mac = "52:54:00:1e:0f:ed"
	start := time.Now()
	resp, err := client.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"test": "boot"}},
		Spec: &machinev1alpha1.MachineSpec{
			Class: testClasses[0].Name, Power: machinev1alpha1.Power_POWER_ON, IgnitionData: ignition,
			Volumes: []*machinev1alpha1.Volume{
				{Name: "root", Device: "oda", LocalDisk: &machinev1alpha1.LocalDisk{Image: &machinev1alpha1.ImageSpec{Image: ref}}},
				{Name: "data", Device: "odb", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 64 << 20}},
			},
			NetworkInterfaces: []*machinev1alpha1.NetworkInterface{{Name: "primary", NetworkId: "isolated", Attributes: map[string]string{"mac": mac}}},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetMachine().GetMetadata().GetId()
	console := &consoletest.SerialLog{T: t, Path: s.p.ConsoleLog(id), Timeout: guestWait}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of %s:\n%s", id, console.Read())
		}
	})

	console.Wait(`IRONFED-GUEST boot reached`, 1)
	t.Logf("boot reached after %s", time.Since(start).Round(time.Second))
	sum := sha256.Sum256(ignition)
	console.Wait(`IRONFED-GUEST ignition sha256=`+hex.EncodeToString(sum[:])+` bytes=`+fmt.Sprint(len(ignition)), 1)
	console.Wait(`IRONFED-GUEST eth0 mac=`+mac, 1)
	console.Wait(`IRONFED-GUEST http IRONFED-PROBE-`+token, 1)
	console.WaitDisk("data", 64<<20, 1)
	console.Wait(`IRONFED-GUEST ready`, 1)
	t.Logf("guest ready after %s", time.Since(start).Round(time.Second))

	m := waitMachine(t, client, id, "running with its NIC and disk attached", func(m *machinev1alpha1.Machine) bool {
		return m.GetStatus().GetState() == machinev1alpha1.MachineState_MACHINE_RUNNING &&
			len(m.GetStatus().GetNetworkInterfaces()) == 1 && m.Status.NetworkInterfaces[0].GetHandle() == mac &&
			volumeState(m, "data") == machinev1alpha1.VolumeState_VOLUME_ATTACHED
	})
	if !strings.HasPrefix(m.GetStatus().GetImageRef(), reg.Host+"/guest:"+token+"@sha256:") {
		t.Errorf("status.image_ref %q, want %s@sha256:...", m.GetStatus().GetImageRef(), ref)
	}

	// Hot attach, then a live resize.
	if _, err := client.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: &machinev1alpha1.Volume{
		Name: "extra", Device: "odc", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 32 << 20},
	}}); err != nil {
		t.Fatal(err)
	}
	console.WaitDisk("extra", 32<<20, 1)
	if _, err := client.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: &machinev1alpha1.Volume{
		Name: "data", Device: "odb", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 128 << 20},
	}}); err != nil {
		t.Fatal(err)
	}
	console.WaitDisk("data", 128<<20, 1)

	// Exec: the URL streams the serial console; the guest's shell answers.
	execConsole(t, s.p, id)

	// Power off: the ACPI power button makes the guest power itself off (well before the 3 min timeout).
	offAt := time.Now()
	if _, err := client.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF}); err != nil {
		t.Fatal(err)
	}
	console.Wait(`IRONFED-GUEST power button`, 1)
	waitMachine(t, client, id, "stopped", func(m *machinev1alpha1.Machine) bool {
		return m.GetStatus().GetState() == machinev1alpha1.MachineState_MACHINE_STOPPED
	})
	t.Logf("powered off by ACPI in %s", time.Since(offAt).Round(100*time.Millisecond))
	evs, err := client.ListEvents(ctx, &machinev1alpha1.ListEventsRequest{Filter: &machinev1alpha1.EventFilter{Id: id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.GetEvents() {
		if ev.GetSpec().GetReason() == "Destroyed" {
			t.Errorf("the domain was destroyed instead of powering off by ACPI: %s", ev.GetSpec().GetMessage())
		}
	}
	// Power on: a second boot, with the hot-attached and grown disks now in the definition.
	if _, err := client.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_ON}); err != nil {
		t.Fatal(err)
	}
	console.Wait(`IRONFED-GUEST boot reached`, 2)
	console.WaitDisk("extra", 32<<20, 2)
	console.WaitDisk("data", 128<<20, 2)
	console.Wait(`IRONFED-GUEST ready`, 2)

	for _, l := range strings.Split(console.Read(), "\n") { // the evidence, as the guest printed it
		if i := strings.Index(l, "IRONFED-GUEST"); i >= 0 {
			t.Log(strings.TrimSpace(l[i:]))
		}
	}

	// Delete: no domain, no overlay, no directory, no cached image left.
	if _, err := client.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: id}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, client, id)
	l, err := daemon.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Disconnect() }()
	if _, err := l.DomainLookupByName(id); err == nil {
		t.Errorf("domain %s still defined after delete", id)
	}
	if _, err := os.Stat(filepath.Join(root, "machines", id)); !os.IsNotExist(err) {
		t.Errorf("machine directory still there after delete (%v)", err)
	}
	if blobs, _ := os.ReadDir(filepath.Join(root, "images", "blobs", "sha256")); len(blobs) != 0 {
		t.Errorf("%d image blobs left in the cache after the last machine using them was deleted", len(blobs))
	}
}

// execConsole redeems an Exec URL with client-go's SPDY executor (remotecommand, as kubectl and
// upstream irictl) and runs a command in the guest's shell through it.
func execConsole(t *testing.T, p *libvirt.Provider, id string) {
	t.Helper()
	url, err := p.Exec(id)
	if err != nil {
		t.Fatal(err)
	}
	e, err := consoletest.Executor(consoletest.SPDY, nil, url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := consoletest.Start(ctx, e, true)
	go func() {
		for ctx.Err() == nil {
			_ = s.Type("echo EXEC-$((6*7))\n")
			time.Sleep(3 * time.Second)
		}
	}()
	if err := s.WaitFor("EXEC-42", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	cancel()
	_ = s.Close(10 * time.Second)
}

func dial(t *testing.T, endpoint string) machinev1alpha1.MachineRuntimeClient {
	t.Helper()
	conn, err := remote.Dial(context.Background(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return machinev1alpha1.NewMachineRuntimeClient(conn)
}

func waitMachine(t *testing.T, c machinev1alpha1.MachineRuntimeClient, id, what string, ok func(*machinev1alpha1.Machine) bool) *machinev1alpha1.Machine {
	t.Helper()
	deadline := time.Now().Add(guestWait)
	var last *machinev1alpha1.Machine
	for time.Now().Before(deadline) {
		resp, err := c.ListMachines(context.Background(), &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
		if err == nil && len(resp.GetMachines()) == 1 {
			last = resp.Machines[0]
			if ok(last) {
				return last
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("machine %s never got %s; last: %v", id, what, last)
	return nil
}

func waitGone(t *testing.T, c machinev1alpha1.MachineRuntimeClient, id string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := c.ListMachines(context.Background(), &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
		if err == nil && len(resp.GetMachines()) == 0 {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("machine %s still listed 2 min after delete", id)
}

func volumeState(m *machinev1alpha1.Machine, name string) machinev1alpha1.VolumeState {
	for _, v := range m.GetStatus().GetVolumes() {
		if v.GetName() == name {
			return v.GetState()
		}
	}
	return -1
}

// serveProbe serves body on 127.0.0.1 (the guest reaches it as 10.0.2.2) and returns the port.
func serveProbe(t *testing.T, body string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func startRegistry(t *testing.T) *localdaemon.Registry {
	t.Helper()
	bin := os.Getenv("IRONFED_REGISTRY_BIN")
	if bin == "" {
		t.Fatal("IRONFED_REGISTRY_BIN is not set: run `make test`, or hack/leaf-libvirt.sh and export what it prints")
	}
	r, err := localdaemon.StartRegistry(context.Background(), localdaemon.RegistryOptions{Dir: shortTempDir(t), Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return r
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
