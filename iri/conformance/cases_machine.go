package conformance

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"

	"google.golang.org/grpc/codes"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

func machineCases() []Case {
	return []Case{
		{Machine, "status-classes", caseMachineStatus},
		{Machine, "generation-and-observed-generation", caseMachineGeneration},
		{Machine, "power-off-on", caseMachinePower},
		{Machine, "attach-detach-volume", caseMachineVolumes},
		{Machine, "attach-detach-network-interface", caseMachineNICs},
		{Machine, "create-with-volumes-and-network-interfaces", caseMachineCreateAttached},
		{Machine, "update-annotations", caseMachineAnnotations},
		{Machine, "ignition-of-1-MiB-is-accepted", caseMachineIgnition},
		{Machine, "exec", caseMachineExec},
	}
}

func caseMachineStatus(ctx context.Context, c *C) {
	resp, err := c.Machine().Status(ctx, &machinev1alpha1.StatusRequest{})
	if err != nil {
		c.Fatalf("Status: %v", err)
	}
	if len(resp.GetMachineClassStatus()) == 0 {
		c.Fatalf("Status reports no machine class")
	}
	for _, s := range resp.GetMachineClassStatus() {
		mc := s.GetMachineClass()
		if mc.GetName() == "" {
			c.Errorf("Status reports a machine class without a name")
		}
		res := mc.GetCapabilities().GetResources()
		if len(res) == 0 {
			c.Errorf("machine class %q has no capabilities", mc.GetName())
		}
		for name, q := range res {
			if q <= 0 {
				c.Errorf("machine class %q: capability %s is %d, want > 0", mc.GetName(), name, q)
			}
		}
		// IronCore's poollet derives class resources with quantity.Value() and matches them by
		// equality: cpu is whole CPUs. A multiple of 1000 this large is a millicore count.
		if cpu := res["cpu"]; cpu >= 1000 && cpu%1000 == 0 {
			c.Errorf("machine class %q: cpu %d looks like millicores; class resources are whole units (cpu \"4\" → 4)", mc.GetName(), cpu)
		}
		if s.GetQuantity() <= 0 {
			c.Errorf("machine class %q: quantity %d, want > 0", mc.GetName(), s.GetQuantity())
		}
	}
}

// newM creates a machine of the discovered class after mutate.
func newM(ctx context.Context, c *C, mutate func(*machine)) *machine {
	m, err := c.newMachine(ctx, c.Labels())
	if err != nil {
		c.Fatalf("%v", err)
	}
	if mutate != nil {
		mutate(m)
	}
	m, err = c.createMachine(ctx, m)
	if err != nil {
		c.Fatalf("CreateMachine: %v", err)
	}
	return m
}

func waitMachine(ctx context.Context, c *C, id, what string, cond func(*machine) (bool, string)) *machine {
	return waitFor(ctx, c, machineAPI(), id, what, cond)
}

func observedCurrent(m *machine) (bool, string) {
	g, o := m.GetMetadata().GetGeneration(), m.GetStatus().GetObservedGeneration()
	return o == g, "generation " + strconv.FormatInt(g, 10) + ", observed " + strconv.FormatInt(o, 10)
}

func caseMachineGeneration(ctx context.Context, c *C) {
	id := newM(ctx, c, nil).GetMetadata().GetId()
	m := waitMachine(ctx, c, id, "to observe its generation", observedCurrent)
	g0 := m.GetMetadata().GetGeneration()
	if _, err := c.Machine().UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF}); err != nil {
		c.Fatalf("UpdateMachinePower: %v", err)
	}
	m, _ = getOne(ctx, c, machineAPI(), id)
	if g := m.GetMetadata().GetGeneration(); g <= g0 {
		c.Errorf("power change left generation at %d (was %d); a spec change must increase it", g, g0)
	}
	waitMachine(ctx, c, id, "to observe the new generation", func(m *machine) (bool, string) {
		ok, note := observedCurrent(m)
		return ok && m.GetMetadata().GetGeneration() > g0, note
	})
}

func stateIs(want ...machinev1alpha1.MachineState) func(*machine) (bool, string) {
	return func(m *machine) (bool, string) {
		st := m.GetStatus().GetState()
		for _, w := range want {
			if st == w {
				return true, ""
			}
		}
		return false, "state " + st.String()
	}
}

func setPower(ctx context.Context, c *C, id string, p machinev1alpha1.Power) {
	if _, err := c.Machine().UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: p}); err != nil {
		c.Fatalf("UpdateMachinePower %s: %v", p, err)
	}
}

func caseMachinePower(ctx context.Context, c *C) {
	id := newM(ctx, c, nil).GetMetadata().GetId()
	waitMachine(ctx, c, id, "to run", stateIs(machinev1alpha1.MachineState_MACHINE_RUNNING))
	setPower(ctx, c, id, machinev1alpha1.Power_POWER_OFF)
	waitMachine(ctx, c, id, "to shut down", stateIs(machinev1alpha1.MachineState_MACHINE_SUSPENDED,
		machinev1alpha1.MachineState_MACHINE_STOPPED, machinev1alpha1.MachineState_MACHINE_TERMINATED))
	setPower(ctx, c, id, machinev1alpha1.Power_POWER_ON)
	m := waitMachine(ctx, c, id, "to run again", stateIs(machinev1alpha1.MachineState_MACHINE_RUNNING))
	if m.GetSpec().GetPower() != machinev1alpha1.Power_POWER_ON {
		c.Errorf("spec.power is %s after powering on", m.GetSpec().GetPower())
	}
}

func volumeAttached(name string, want bool) func(*machine) (bool, string) {
	return func(m *machine) (bool, string) {
		for _, vs := range m.GetStatus().GetVolumes() {
			if vs.GetName() == name {
				ok := vs.GetState() == machinev1alpha1.VolumeState_VOLUME_ATTACHED && vs.GetHandle() != ""
				return want && ok, "volume " + name + " " + vs.GetState().String() + ", handle " + vs.GetHandle()
			}
		}
		return !want, "volume " + name + " not in status"
	}
}

func nicAttached(name string, want bool) func(*machine) (bool, string) {
	return func(m *machine) (bool, string) {
		for _, ns := range m.GetStatus().GetNetworkInterfaces() {
			if ns.GetName() == name {
				ok := ns.GetState() == machinev1alpha1.NetworkInterfaceState_NETWORK_INTERFACE_ATTACHED && ns.GetHandle() != ""
				return want && ok, "network interface " + name + " " + ns.GetState().String() + ", handle " + ns.GetHandle()
			}
		}
		return !want, "network interface " + name + " not in status"
	}
}

func testVolume(name string, size int64) *machinev1alpha1.Volume {
	return &machinev1alpha1.Volume{Name: name, Device: "odb", Connection: &machinev1alpha1.VolumeConnection{
		Driver: "ceph", Handle: "conformance/" + name, Attributes: map[string]string{"monitors": "127.0.0.1:6789"},
		EffectiveStorageBytes: size,
	}}
}

// attachedVolume is testVolume with the connection of Config.MachineVolume, if set.
func (c *C) attachedVolume(ctx context.Context, name string, size int64) *machinev1alpha1.Volume {
	v := testVolume(name, size)
	if f := c.env.cfg.MachineVolume; f != nil {
		conn, err := f(ctx, name, size)
		if err != nil {
			c.Fatalf("the volume %s to attach (Config.MachineVolume): %v", name, err)
		}
		v.Connection = conn
	}
	return v
}

func caseMachineVolumes(ctx context.Context, c *C) {
	m := c.Machine()
	id := newM(ctx, c, nil).GetMetadata().GetId()
	vol := c.attachedVolume(ctx, "data", 1<<30)
	if _, err := m.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: vol}); err != nil {
		c.Fatalf("AttachVolume: %v", err)
	}
	waitMachine(ctx, c, id, "to attach volume data", volumeAttached("data", true))
	_, err := m.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: vol})
	checkCode(c, "attaching volume data twice", err, codes.AlreadyExists)

	grown := c.attachedVolume(ctx, "data", 2<<30)
	if _, err := m.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: grown}); err != nil {
		c.Fatalf("UpdateVolume: %v", err)
	}
	got, _ := getOne(ctx, c, machineAPI(), id)
	if specs := got.GetSpec().GetVolumes(); len(specs) != 1 || specs[0].GetConnection().GetEffectiveStorageBytes() != 2<<30 {
		c.Errorf("after UpdateVolume spec.volumes is %v", specs)
	}
	_, err = m.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: testVolume("nope", 1)})
	checkCode(c, "updating a volume that is not attached", err, codes.NotFound)

	if _, err := m.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: "data"}); err != nil {
		c.Fatalf("DetachVolume: %v", err)
	}
	waitMachine(ctx, c, id, "to detach volume data", volumeAttached("data", false))
	if got, _ := getOne(ctx, c, machineAPI(), id); len(got.GetSpec().GetVolumes()) != 0 {
		c.Errorf("spec.volumes after detach: %v", got.GetSpec().GetVolumes())
	}
	_, err = m.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: "data"})
	checkCode(c, "detaching volume data twice", err, codes.NotFound)
}

func caseMachineNICs(ctx context.Context, c *C) {
	m := c.Machine()
	id := newM(ctx, c, nil).GetMetadata().GetId()
	nic := &machinev1alpha1.NetworkInterface{Name: "eth1", NetworkId: "conformance", Ips: []string{"10.0.0.10"}}
	if _, err := m.AttachNetworkInterface(ctx, &machinev1alpha1.AttachNetworkInterfaceRequest{MachineId: id, NetworkInterface: nic}); err != nil {
		c.Fatalf("AttachNetworkInterface: %v", err)
	}
	waitMachine(ctx, c, id, "to attach network interface eth1", nicAttached("eth1", true))
	_, err := m.AttachNetworkInterface(ctx, &machinev1alpha1.AttachNetworkInterfaceRequest{MachineId: id, NetworkInterface: nic})
	checkCode(c, "attaching network interface eth1 twice", err, codes.AlreadyExists)
	if _, err := m.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: "eth1"}); err != nil {
		c.Fatalf("DetachNetworkInterface: %v", err)
	}
	waitMachine(ctx, c, id, "to detach network interface eth1", nicAttached("eth1", false))
	_, err = m.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: "eth1"})
	checkCode(c, "detaching network interface eth1 twice", err, codes.NotFound)
}

func caseMachineCreateAttached(ctx context.Context, c *C) {
	m := newM(ctx, c, func(m *machine) {
		m.Spec.Volumes = []*machinev1alpha1.Volume{
			{Name: "root", Device: "oda", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 1 << 30}},
			c.attachedVolume(ctx, "data", 1<<30),
		}
		m.Spec.NetworkInterfaces = []*machinev1alpha1.NetworkInterface{{Name: "primary", NetworkId: "conformance"}}
	})
	id := m.GetMetadata().GetId()
	for _, name := range []string{"root", "data"} {
		waitMachine(ctx, c, id, "to attach volume "+name, volumeAttached(name, true))
	}
	waitMachine(ctx, c, id, "to attach network interface primary", nicAttached("primary", true))
}

func caseMachineAnnotations(ctx context.Context, c *C) {
	id := newM(ctx, c, nil).GetMetadata().GetId()
	want := map[string]string{"conformance.ironfed.dev/a": "1", "conformance.ironfed.dev/b": "two"}
	if _, err := c.Machine().UpdateMachineAnnotations(ctx, &machinev1alpha1.UpdateMachineAnnotationsRequest{MachineId: id, Annotations: want}); err != nil {
		c.Fatalf("UpdateMachineAnnotations: %v", err)
	}
	got, _ := getOne(ctx, c, machineAPI(), id)
	if !maps.Equal(got.GetMetadata().GetAnnotations(), want) {
		c.Errorf("annotations after replacing them: %v, want exactly %v", got.GetMetadata().GetAnnotations(), want)
	}
	if !hasLabels(got.GetMetadata().GetLabels(), c.Labels()) {
		c.Errorf("updating annotations changed the labels: %v", got.GetMetadata().GetLabels())
	}
}

func caseMachineIgnition(ctx context.Context, c *C) {
	newM(ctx, c, func(m *machine) { m.Spec.IgnitionData = make([]byte, maxIgnitionBytes) })
}

func caseMachineExec(ctx context.Context, c *C) {
	id := newM(ctx, c, nil).GetMetadata().GetId()
	_, err := c.Machine().Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: unknownID(id)})
	if isUnimplemented(err) {
		c.Skipf("not supported: Exec answered Unimplemented (%v)", err)
	}
	checkCode(c, "Exec of an unknown machine", err, codes.NotFound)
	waitMachine(ctx, c, id, "running", stateIs(machinev1alpha1.MachineState_MACHINE_RUNNING))
	// The URL speaks Kubernetes remotecommand: WebSocket v5 (client-go's
	// WebSocket executor) and SPDY v4 (its SPDY executor, upstream irictl).
	for _, proto := range []string{"websocket", "spdy"} {
		resp, err := c.Machine().Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: id})
		if isUnimplemented(err) {
			c.Skipf("not supported: Exec answered Unimplemented (%v)", err)
		}
		if err != nil {
			c.Fatalf("Exec: %v", err)
		}
		u, err := url.Parse(resp.GetUrl())
		if err != nil || !u.IsAbs() {
			c.Fatalf("Exec answered URL %q, want an absolute URL (%v)", resp.GetUrl(), err)
		}
		code, got, err := upgrade(ctx, u, proto)
		if err != nil {
			c.Fatalf("%s upgrade of the Exec URL: %v", proto, err)
		}
		if code != http.StatusSwitchingProtocols {
			c.Errorf("%s upgrade of the Exec URL answered %d, want 101 (remotecommand)", proto, code)
			continue
		}
		if want := map[string]string{"websocket": "v5.channel.k8s.io", "spdy": "v4.channel.k8s.io"}[proto]; got != want {
			c.Errorf("%s upgrade negotiated protocol %q, want %q", proto, got, want)
		}
		if code, _, err := upgrade(ctx, u, proto); err != nil || code < 400 {
			c.Errorf("second use of a single-use Exec URL answered %d (%v), want a 4xx refusal", code, err)
		}
	}
}
