package libvirt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/providers/libvirt"
)

// TestRestartAndSweep restarts the provider while its machines run (nothing lost, nothing duplicated,
// a retried create still finds its machine) and checks that a domain and a directory left behind by a
// crash are swept while another owner's domain is left alone. The machines boot nothing (no image).
func TestRestartAndSweep(t *testing.T) {
	needDaemon(t)
	ctx := context.Background()
	root := shortTempDir(t)
	a := startProvider(t, root, nil)
	ca := dial(t, a.endpoint)
	newMachine := func(uid string, power machinev1alpha1.Power) *machinev1alpha1.Machine {
		return &machinev1alpha1.Machine{
			Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.MachineUIDLabel: uid, "test": "restart"}, Annotations: map[string]string{"a": uid}},
			Spec: &machinev1alpha1.MachineSpec{Class: testClasses[0].Name, Power: power, IgnitionData: []byte("ign-" + uid),
				Volumes:           []*machinev1alpha1.Volume{{Name: "data", Device: "odb", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 16 << 20}}},
				NetworkInterfaces: []*machinev1alpha1.NetworkInterface{{Name: "nic", NetworkId: "isolated"}}},
		}
	}
	ids := map[string]string{}
	for uid, power := range map[string]machinev1alpha1.Power{"uid-on": machinev1alpha1.Power_POWER_ON, "uid-off": machinev1alpha1.Power_POWER_OFF} {
		resp, err := ca.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(uid, power)})
		if err != nil {
			t.Fatal(err)
		}
		ids[uid] = resp.Machine.Metadata.Id
	}
	waitMachine(t, ca, ids["uid-on"], "running", func(m *machinev1alpha1.Machine) bool {
		return m.Status.State == machinev1alpha1.MachineState_MACHINE_RUNNING && volumeState(m, "data") == machinev1alpha1.VolumeState_VOLUME_ATTACHED
	})
	waitMachine(t, ca, ids["uid-off"], "stopped", func(m *machinev1alpha1.Machine) bool {
		return m.Status.State == machinev1alpha1.MachineState_MACHINE_STOPPED
	})
	before, err := ca.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	stopProvider(t, a)

	// What a crash leaves: a domain of ours whose directory is gone, a directory without a domain,
	// a stale disk in a live machine's directory; and a domain of another provider.
	l, err := daemon.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Disconnect() }()
	leftover, foreign := fmt.Sprintf("%063x", time.Now().UnixNano()), fmt.Sprintf("f%062x", time.Now().UnixNano())
	defineRaw(t, l, leftover, root)
	defineRaw(t, l, foreign, "/somewhere/else")
	defer func() {
		if d, err := l.DomainLookupByName(foreign); err == nil {
			_ = l.DomainUndefine(d)
		}
	}()
	strayDir := filepath.Join(root, "machines", fmt.Sprintf("%063x", 42))
	if err := os.MkdirAll(strayDir, 0o700); err != nil {
		t.Fatal(err)
	}
	staleDisk := filepath.Join(root, "machines", ids["uid-on"], "disk-gone.qcow2")
	if err := os.WriteFile(staleDisk, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	b := startProvider(t, root, nil)
	cb := dial(t, b.endpoint)
	after, err := cb.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Machines) != len(before.Machines) {
		t.Fatalf("after restart %d machines, before %d", len(after.Machines), len(before.Machines))
	}
	for i, m := range after.Machines {
		was := before.Machines[i]
		if m.Metadata.Id != was.Metadata.Id || m.Metadata.CreatedAt != was.Metadata.CreatedAt || m.Metadata.Generation != was.Metadata.Generation ||
			m.Metadata.Annotations["a"] != was.Metadata.Annotations["a"] || string(m.Spec.IgnitionData) != string(was.Spec.IgnitionData) ||
			len(m.Spec.Volumes) != 1 || len(m.Spec.NetworkInterfaces) != 1 || m.Spec.Power != was.Spec.Power {
			t.Errorf("machine changed across the restart:\n got %v\nwant %v", m, was)
		}
	}
	waitMachine(t, cb, ids["uid-on"], "running after the restart", func(m *machinev1alpha1.Machine) bool {
		return m.Status.State == machinev1alpha1.MachineState_MACHINE_RUNNING && m.Status.ObservedGeneration == m.Metadata.Generation
	})
	resp, err := cb.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine("uid-on", machinev1alpha1.Power_POWER_ON)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Machine.Metadata.Id != ids["uid-on"] {
		t.Errorf("a retried create after the restart made machine %s instead of returning %s", resp.Machine.Metadata.Id, ids["uid-on"])
	}
	if _, err := l.DomainLookupByName(leftover); err == nil {
		t.Errorf("the crash leftover domain %s was not swept", leftover)
	}
	if _, err := l.DomainLookupByName(foreign); err != nil {
		t.Errorf("another owner's domain was touched: %v", err)
	}
	if _, err := os.Stat(strayDir); !os.IsNotExist(err) {
		t.Errorf("the stray machine directory was not swept (%v)", err)
	}
	if _, err := os.Stat(staleDisk); !os.IsNotExist(err) {
		t.Errorf("the stale disk was not swept (%v)", err)
	}
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range doms {
		if d.Name == ids["uid-on"] || d.Name == ids["uid-off"] {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d domains of the two machines, want 2", n)
	}
	for _, id := range ids {
		if _, err := cb.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: id}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, cb, id)
		if _, err := l.DomainLookupByName(id); err == nil {
			t.Errorf("domain %s still defined after delete", id)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "machines")); len(ents) != 0 {
		t.Errorf("%d machine directories left after deleting every machine", len(ents))
	}
}

// stopProvider stops a provider started by startProvider (its cleanup then does nothing).
func stopProvider(t *testing.T, s *served) {
	t.Helper()
	s.stop()
}

// defineRaw defines a bootless domain carrying ironfed metadata with the given owner, as a provider
// that crashed would have left it (no machine directory).
func defineRaw(t *testing.T, l *golibvirt.Libvirt, id, owner string) {
	t.Helper()
	x := fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>
<metadata><ironfed:machine xmlns:ironfed=%q owner=%q>{"metadata":{"id":"%s"},"spec":{"class":"tcg-small"}}</ironfed:machine></metadata>
<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>`, id, libvirt.MetadataURI, owner, id)
	if _, err := l.DomainDefineXML(x); err != nil {
		t.Fatal(err)
	}
}
