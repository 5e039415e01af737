package memory

import (
	"strings"
	"testing"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

func TestMachineCreateValidation(t *testing.T) {
	p := newProvider(t, nil)
	disk := &machinev1alpha1.LocalDisk{SizeBytes: 1 << 30}
	spec := func(mut func(*machinev1alpha1.MachineSpec)) *machinev1alpha1.Machine {
		m := newMachine("m-small", nil)
		mut(m.Spec)
		return m
	}
	cases := []struct {
		name    string
		in      *machinev1alpha1.Machine
		kind    *runtimeerr.Error
		mention string
	}{
		{"nil machine", nil, runtimeerr.ErrInvalid, "machine is required"},
		{"nil spec", &machinev1alpha1.Machine{}, runtimeerr.ErrInvalid, "spec is required"},
		{"id set", &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{Id: "abc"}, Spec: &machinev1alpha1.MachineSpec{Class: "m-small"}}, runtimeerr.ErrInvalid, "metadata.id"},
		{"missing class", spec(func(s *machinev1alpha1.MachineSpec) { s.Class = "" }), runtimeerr.ErrInvalid, "m-small, m-large"},
		{"unknown class", spec(func(s *machinev1alpha1.MachineSpec) { s.Class = "m-huge" }), runtimeerr.ErrInvalid, "m-small, m-large"},
		{"oversized ignition", spec(func(s *machinev1alpha1.MachineSpec) { s.IgnitionData = make([]byte, MaxIgnitionBytes+1) }), runtimeerr.ErrInvalid, "1 MiB"},
		{"bad power", spec(func(s *machinev1alpha1.MachineSpec) { s.Power = 7 }), runtimeerr.ErrInvalid, "POWER_ON"},
		{"volume without name", spec(func(s *machinev1alpha1.MachineSpec) {
			s.Volumes = []*machinev1alpha1.Volume{{LocalDisk: disk}}
		}), runtimeerr.ErrInvalid, "volume.name"},
		{"volume without source", spec(func(s *machinev1alpha1.MachineSpec) {
			s.Volumes = []*machinev1alpha1.Volume{{Name: "root"}}
		}), runtimeerr.ErrInvalid, "exactly one"},
		{"duplicate volume", spec(func(s *machinev1alpha1.MachineSpec) {
			s.Volumes = []*machinev1alpha1.Volume{{Name: "root", LocalDisk: disk}, {Name: "root", LocalDisk: disk}}
		}), runtimeerr.ErrInvalid, "twice"},
		{"duplicate nic", spec(func(s *machinev1alpha1.MachineSpec) {
			s.NetworkInterfaces = []*machinev1alpha1.NetworkInterface{{Name: "eth0"}, {Name: "eth0"}}
		}), runtimeerr.ErrInvalid, "twice"},
	}
	for _, c := range cases {
		_, err := p.Machines.Create(c.in)
		wantKind(t, err, c.kind)
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: message %q does not mention %q", c.name, err, c.mention)
		}
	}
	if n := p.Machines.Len(); n != 0 {
		t.Fatalf("rejected creates left %d machines behind", n)
	}
	ok := spec(func(s *machinev1alpha1.MachineSpec) { s.IgnitionData = make([]byte, MaxIgnitionBytes) })
	if _, err := p.Machines.Create(ok); err != nil {
		t.Fatalf("ignition of exactly 1 MiB: %v", err)
	}
}

func TestMachineAttachments(t *testing.T) {
	p := newProvider(t, nil)
	m, _ := p.Machines.Create(newMachine("m-small", nil))
	id := m.Metadata.Id
	conn := &machinev1alpha1.Volume{Name: "data", Device: "odb", Connection: &machinev1alpha1.VolumeConnection{Driver: "ceph", Handle: "pool/img"}}
	if err := p.Machines.AttachVolume(id, conn); err != nil {
		t.Fatal(err)
	}
	wantKind(t, p.Machines.AttachVolume(id, conn), runtimeerr.ErrAlreadyExists)
	m, _ = p.Machines.Get(id)
	if len(m.Status.Volumes) != 1 || m.Status.Volumes[0].State != machinev1alpha1.VolumeState_VOLUME_ATTACHED || m.Status.Volumes[0].Handle != "pool/img" {
		t.Fatalf("volume status = %v", m.Status.Volumes)
	}
	updated := &machinev1alpha1.Volume{Name: "data", Device: "odb", Connection: &machinev1alpha1.VolumeConnection{Driver: "ceph", Handle: "pool/img", EffectiveStorageBytes: 2 << 30}}
	if err := p.Machines.UpdateVolume(id, updated); err != nil {
		t.Fatal(err)
	}
	wantKind(t, p.Machines.UpdateVolume(id, &machinev1alpha1.Volume{Name: "nope", LocalDisk: &machinev1alpha1.LocalDisk{}}), runtimeerr.ErrNotFound)
	m, _ = p.Machines.Get(id)
	if m.Spec.Volumes[0].Connection.EffectiveStorageBytes != 2<<30 || m.Metadata.Generation != 3 {
		t.Fatalf("after UpdateVolume: %v, generation %d", m.Spec.Volumes[0], m.Metadata.Generation)
	}
	if err := p.Machines.DetachVolume(id, "data"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, p.Machines.DetachVolume(id, "data"), runtimeerr.ErrNotFound)
	wantKind(t, p.Machines.DetachVolume(id, ""), runtimeerr.ErrInvalid)

	nic := &machinev1alpha1.NetworkInterface{Name: "eth0", NetworkId: "net-1", Ips: []string{"10.0.0.2"}}
	if err := p.Machines.AttachNetworkInterface(id, nic); err != nil {
		t.Fatal(err)
	}
	wantKind(t, p.Machines.AttachNetworkInterface(id, nic), runtimeerr.ErrAlreadyExists)
	m, _ = p.Machines.Get(id)
	if len(m.Status.NetworkInterfaces) != 1 || m.Status.NetworkInterfaces[0].Handle == "" ||
		m.Status.NetworkInterfaces[0].State != machinev1alpha1.NetworkInterfaceState_NETWORK_INTERFACE_ATTACHED {
		t.Fatalf("nic status = %v", m.Status.NetworkInterfaces)
	}
	if err := p.Machines.DetachNetworkInterface(id, "eth0"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, p.Machines.DetachNetworkInterface(id, "eth0"), runtimeerr.ErrNotFound)
	m, _ = p.Machines.Get(id)
	if len(m.Status.Volumes)+len(m.Status.NetworkInterfaces) != 0 || m.Status.ObservedGeneration != m.Metadata.Generation {
		t.Fatalf("after detaching everything: %v", m.Status)
	}
	missing := strings.Repeat("f", IDLength)
	wantKind(t, p.Machines.AttachVolume(missing, conn), runtimeerr.ErrNotFound)
	wantKind(t, p.Machines.AttachNetworkInterface(missing, nic), runtimeerr.ErrNotFound)
	wantKind(t, p.Machines.SetPower(missing, machinev1alpha1.Power_POWER_ON), runtimeerr.ErrNotFound)
	wantKind(t, p.Machines.AttachVolume(id, nil), runtimeerr.ErrInvalid)
	wantKind(t, p.Machines.AttachNetworkInterface(id, nil), runtimeerr.ErrInvalid)
}

func TestSetGuestState(t *testing.T) {
	p := newProvider(t, nil)
	m, err := p.Machines.Create(newMachine("m-small", nil))
	if err != nil {
		t.Fatal(err)
	}
	id, gen := m.Metadata.Id, m.Metadata.Generation
	if err := p.Machines.SetGuestState(id, machinev1alpha1.MachineState_MACHINE_TERMINATED); err != nil {
		t.Fatal(err)
	}
	got, err := p.Machines.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.State != machinev1alpha1.MachineState_MACHINE_TERMINATED || got.Metadata.Generation != gen {
		t.Fatalf("state %v generation %d; want TERMINATED at unchanged generation %d", got.Status.State, got.Metadata.Generation, gen)
	}
	wantKind(t, p.Machines.SetGuestState(id, 42), runtimeerr.ErrInvalid)
	wantKind(t, p.Machines.SetGuestState(strings.Repeat("a", 63), machinev1alpha1.MachineState_MACHINE_RUNNING), runtimeerr.ErrNotFound)
	// A power change settles the machine again.
	if err := p.Machines.SetPower(id, machinev1alpha1.Power_POWER_OFF); err != nil {
		t.Fatal(err)
	}
	if err := p.Machines.SetPower(id, machinev1alpha1.Power_POWER_ON); err != nil {
		t.Fatal(err)
	}
	if got, _ = p.Machines.Get(id); got.Status.State != machinev1alpha1.MachineState_MACHINE_RUNNING {
		t.Fatalf("after a power cycle state is %v, want RUNNING", got.Status.State)
	}
}
