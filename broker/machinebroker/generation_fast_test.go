package machinebroker

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// The fake client never sets metadata.generation: the downstream behaves as IronCore's apiserver,
// where it stays 0. The IRI generation still starts at 1, grows by one with each change of the
// desired state and with nothing else, and lives on the object (a new broker reads it back).
func TestIRIGenerationWithoutDownstreamGeneration(t *testing.T) {
	b, c := fakeBroker(t, nil, class("small"))
	ctx := context.Background()
	resp, err := b.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{}, Spec: &machinev1alpha1.MachineSpec{Class: "small", Power: machinev1alpha1.Power_POWER_ON},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Machine.Metadata.Id
	if g := resp.Machine.Metadata.Generation; g != 1 {
		t.Fatalf("create answered generation %d, want 1", g)
	}
	var gen int64 = 1
	step := func(what string, bump bool, call func() error) {
		t.Helper()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if bump {
			gen++
		}
		var m computev1alpha1.Machine
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, &m); err != nil {
			t.Fatal(err)
		}
		if m.Generation != 0 {
			t.Fatalf("the fake downstream set metadata.generation %d; this test needs it 0", m.Generation)
		}
		l, err := b.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
		if err != nil || len(l.Machines) != 1 {
			t.Fatalf("%s: list %v %v", what, l, err)
		}
		md, st := l.Machines[0].Metadata, l.Machines[0].Status
		if md.Generation != gen {
			t.Fatalf("after %s: IRI generation %d, want %d", what, md.Generation, gen)
		}
		// Nothing below reports anything but 0 = 0: caught up, as upstream's components see it.
		if st.ObservedGeneration != gen {
			t.Fatalf("after %s: observed generation %d, want %d", what, st.ObservedGeneration, gen)
		}
	}
	power := func(p machinev1alpha1.Power) func() error {
		return func() error {
			_, err := b.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: p})
			return err
		}
	}
	local := func(size int64) *machinev1alpha1.Volume {
		return &machinev1alpha1.Volume{Name: "root", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: size}}
	}
	step("power off", true, power(machinev1alpha1.Power_POWER_OFF))
	step("power off again", false, power(machinev1alpha1.Power_POWER_OFF))
	step("annotations", false, func() error {
		_, err := b.UpdateMachineAnnotations(ctx, &machinev1alpha1.UpdateMachineAnnotationsRequest{MachineId: id, Annotations: map[string]string{"x": "1"}})
		return err
	})
	step("attach a volume", true, func() error {
		_, err := b.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: local(1 << 30)})
		return err
	})
	step("update the volume unchanged", false, func() error {
		_, err := b.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: local(1 << 30)})
		return err
	})
	step("resize the volume", true, func() error {
		_, err := b.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: local(2 << 30)})
		return err
	})
	step("attach a network interface", true, func() error {
		_, err := b.AttachNetworkInterface(ctx, &machinev1alpha1.AttachNetworkInterfaceRequest{MachineId: id, NetworkInterface: &machinev1alpha1.NetworkInterface{Name: "eth0", NetworkId: "n"}})
		return err
	})
	step("detach the network interface", true, func() error {
		_, err := b.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: "eth0"})
		return err
	})
	step("detach the volume", true, func() error {
		_, err := b.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: "root"})
		return err
	})
	step("a failed detach", false, func() error {
		if _, err := b.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: "root"}); err == nil {
			t.Fatal("detaching a missing volume succeeded")
		}
		return nil
	})
	step("power on", true, power(machinev1alpha1.Power_POWER_ON))

	// A new broker (a restart) over the same object reads the generation back from it.
	var m computev1alpha1.Machine
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, &m); err != nil {
		t.Fatal(err)
	}
	m.ResourceVersion = ""
	b2, _ := fakeBroker(t, nil, class("small"), &m)
	l, err := b2.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
	if err != nil || len(l.Machines) != 1 {
		t.Fatalf("list after restart: %v %v", l, err)
	}
	if g := l.Machines[0].Metadata.Generation; g != gen {
		t.Fatalf("after restart: IRI generation %d, want %d", g, gen)
	}
	if _, err := b2.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF}); err != nil {
		t.Fatal(err)
	}
	l, err = b2.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
	if err != nil || len(l.Machines) != 1 || l.Machines[0].Metadata.Generation != gen+1 {
		t.Fatalf("power off after restart: %v %v, want generation %d", l, err, gen+1)
	}
	if _, ok := l.Machines[0].Metadata.Annotations[common.GenerationAnnotation]; ok {
		t.Errorf("the broker's generation annotation leaked into the IRI annotations")
	}
}
