package memory

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// TestStatusCodes checks the error-code table over a real socket.
func TestStatusCodes(t *testing.T) {
	p := newProvider(t, func(c *Config) { c.MachineClasses[1].Capacity = 0 })
	c := serve(t, p, t.TempDir())
	ctx := bg()
	missing := strings.Repeat("0", IDLength)
	m, err := c.machine.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine("m-small", nil)})
	if err != nil {
		t.Fatal(err)
	}
	id := m.Machine.Metadata.Id
	vol := &machinev1alpha1.Volume{Name: "root", LocalDisk: &machinev1alpha1.LocalDisk{}}
	if _, err := c.machine.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: vol}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"nil machine", func() error {
			_, err := c.machine.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{})
			return err
		}, codes.InvalidArgument},
		{"unknown class", func() error {
			_, err := c.machine.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine("nope", nil)})
			return err
		}, codes.InvalidArgument},
		{"class exhausted", func() error {
			_, err := c.machine.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine("m-large", nil)})
			return err
		}, codes.ResourceExhausted},
		{"malformed id", func() error {
			_, err := c.machine.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: "not-an-id"})
			return err
		}, codes.InvalidArgument},
		{"power on missing", func() error {
			_, err := c.machine.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: missing})
			return err
		}, codes.NotFound},
		{"attach twice", func() error {
			_, err := c.machine.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: vol})
			return err
		}, codes.AlreadyExists},
		{"detach missing name", func() error {
			_, err := c.machine.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: "eth9"})
			return err
		}, codes.NotFound},
		{"exec without server", func() error { _, err := c.machine.Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: id}); return err }, codes.Unimplemented},
		{"volume without size", func() error {
			_, err := c.volume.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: newVolume("fast", 0)})
			return err
		}, codes.InvalidArgument},
		{"expand without resources", func() error {
			_, err := c.volume.ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: missing})
			return err
		}, codes.InvalidArgument},
		{"bucket without spec", func() error {
			_, err := c.bucket.CreateBucket(ctx, &bucketv1alpha1.CreateBucketRequest{Bucket: &bucketv1alpha1.Bucket{}})
			return err
		}, codes.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code) })
	}
	if _, err := c.machine.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: missing}); err != nil {
		t.Fatalf("delete of a missing machine: %v", err)
	}
}

func TestWatchOverGRPC(t *testing.T) {
	p := newProvider(t, nil)
	c := serve(t, p, t.TempDir())
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	defer cancel()
	sel := map[string]string{"watch": "me"}
	first, _ := c.machine.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine("m-small", sel)})
	stream, err := c.machine.WatchMachines(ctx, &machinev1alpha1.WatchMachinesRequest{
		Filter: &machinev1alpha1.MachineFilter{LabelSelector: sel}, SendInitialList: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	recv := func(want machinev1alpha1.WatchEventType) *machinev1alpha1.WatchMachinesEvent {
		t.Helper()
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != want || ev.Sequence <= last {
			t.Fatalf("got %s seq %d, want %s after seq %d", ev.Type, ev.Sequence, want, last)
		}
		last = ev.Sequence
		return ev
	}
	if ev := recv(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED); ev.Object.Metadata.Id != first.Machine.Metadata.Id {
		t.Fatalf("initial list sent %s", ev.Object.Metadata.Id)
	}
	if ev := recv(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_BOOKMARK); ev.Object != nil {
		t.Fatalf("bookmark carries an object")
	}
	_, _ = c.machine.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine("m-small", nil)}) // not matching
	_, _ = c.machine.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: first.Machine.Metadata.Id, Power: machinev1alpha1.Power_POWER_OFF})
	if ev := recv(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED); ev.Object.Status.State != machinev1alpha1.MachineState_MACHINE_SUSPENDED {
		t.Fatalf("modified event state %s", ev.Object.Status.State)
	}
	_, _ = c.machine.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: first.Machine.Metadata.Id})
	recv(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_DELETED)
}

// A client that stops reading fills the server's queue; the server drops
// it with ResourceExhausted while creates go on unhindered.
func TestSlowWatcherOverGRPC(t *testing.T) {
	p := newProvider(t, func(c *Config) {
		c.WatchBufferSize = 4
		c.MachineClasses[0].Capacity = 10000
	})
	c := serve(t, p, t.TempDir())
	ctx, cancel := context.WithTimeout(bg(), 30*time.Second)
	defer cancel()
	stream, err := c.machine.WatchMachines(ctx, &machinev1alpha1.WatchMachinesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := stream.Recv(); err != nil || ev.Type != machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_BOOKMARK {
		t.Fatalf("first event %v, %v; want BOOKMARK", ev, err)
	}
	// Large annotations fill gRPC's flow-control windows quickly.
	big := map[string]string{"pad": strings.Repeat("x", 16<<10)}
	for i := 0; i < 4000; i++ {
		m := newMachine("m-small", nil)
		m.Metadata.Annotations = big
		if _, err := p.Machines.Create(m); err != nil {
			t.Fatal(err)
		}
	}
	for {
		_, err := stream.Recv()
		if err != nil {
			wantCode(t, err, codes.ResourceExhausted)
			return
		}
	}
}
