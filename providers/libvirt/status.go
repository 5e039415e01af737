package libvirt

import (
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// refreshStatus reads the machine's domain and publishes the status it implies. settled says the
// reconcile of generation gen left nothing to do, so observed_generation may catch up when the domain's
// state also matches the power.
func (p *Provider) refreshStatus(id string, gen int64, settled bool) {
	dom, err := p.lv.DomainLookupByName(id)
	if err != nil {
		return
	}
	st, _, err := p.lv.DomainGetState(dom, 0)
	if err != nil {
		return
	}
	state := golibvirt.DomainState(st)
	x, err := p.liveXML(dom) // the live XML of a running domain, the persistent one of a stopped one
	if err != nil {
		return
	}
	disks := map[string]string{}
	for _, d := range x.Devices.Disks {
		if d.Alias == nil || d.Source == nil {
			continue
		}
		switch {
		case d.Source.File != nil:
			disks[d.Alias.Name] = d.Source.File.File
		case d.Source.Network != nil:
			disks[d.Alias.Name] = "rbd:" + d.Source.Network.Name
		}
	}
	nics := map[string]string{}
	for _, n := range x.Devices.Interfaces {
		if n.Alias != nil && n.MAC != nil {
			nics[n.Alias.Name] = n.MAC.Address
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.machines[id]
	if !ok || r.deleting {
		return
	}
	next := clone(r.obj)
	s := next.Status
	running := state == golibvirt.DomainRunning || state == golibvirt.DomainBlocked
	switch {
	case running && !r.shutdownSince.IsZero():
		s.State = machinev1alpha1.MachineState_MACHINE_RUNNING // still shutting down
	case running:
		s.State = machinev1alpha1.MachineState_MACHINE_RUNNING
	case state == golibvirt.DomainPaused || state == golibvirt.DomainPmsuspended:
		s.State = machinev1alpha1.MachineState_MACHINE_SUSPENDED
	case state == golibvirt.DomainShutoff && next.Spec.Power == machinev1alpha1.Power_POWER_OFF:
		s.State = machinev1alpha1.MachineState_MACHINE_STOPPED
	case state == golibvirt.DomainCrashed:
		s.State = machinev1alpha1.MachineState_MACHINE_TERMINATED
	default:
		s.State = machinev1alpha1.MachineState_MACHINE_PENDING
	}
	s.ImageRef = ""
	s.Volumes = nil
	for _, v := range next.Spec.Volumes {
		vs := &machinev1alpha1.VolumeStatus{Name: v.Name}
		if h, ok := disks[diskAlias(v.Name)]; ok {
			vs.Handle, vs.State = h, machinev1alpha1.VolumeState_VOLUME_ATTACHED
		} else if ref := v.GetLocalDisk().GetImage().GetImage(); ref != "" && r.imageDigest != "" && x.OS != nil && x.OS.Kernel != "" {
			// A kernel-only image boots directly: the volume is the image itself.
			vs.Handle, vs.State = "image:"+r.imageDigest, machinev1alpha1.VolumeState_VOLUME_ATTACHED
		}
		if ref := v.GetLocalDisk().GetImage().GetImage(); ref != "" && r.imageDigest != "" {
			s.ImageRef = imageRefWithDigest(ref, r.imageDigest)
		}
		s.Volumes = append(s.Volumes, vs)
	}
	s.NetworkInterfaces = nil
	for _, n := range next.Spec.NetworkInterfaces {
		ns := &machinev1alpha1.NetworkInterfaceStatus{Name: n.Name}
		if mac, ok := nics[nicAlias(n.Name)]; ok {
			// The handle is the guest's MAC address (user-mode NICs have nothing else to name them).
			ns.Handle, ns.State = mac, machinev1alpha1.NetworkInterfaceState_NETWORK_INTERFACE_ATTACHED
		}
		s.NetworkInterfaces = append(s.NetworkInterfaces, ns)
	}
	powerMatches := (next.Spec.Power == machinev1alpha1.Power_POWER_ON) == running
	if settled && powerMatches && next.Metadata.Generation == gen {
		s.ObservedGeneration = gen
	}
	if proto.Equal(next, r.obj) {
		return
	}
	if r.obj.Status.State != s.State {
		p.events.record(next.Metadata, EventNormal, "State"+strings.TrimPrefix(s.State.String(), "MACHINE_"),
			"Machine is "+strings.ToLower(strings.TrimPrefix(s.State.String(), "MACHINE_")), nowUnix())
	}
	r.obj = next
	p.publishLocked(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED, next)
}

func imageRefWithDigest(ref, digest string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	return ref + "@" + digest
}

// Status reports every class with how many machines of it the host holds: (host CPUs × overcommit −
// reserved CPUs) / class CPUs and (host memory − reserved memory) / class memory, whichever is less.
// Resources are whole units: cpu in CPUs, memory in bytes.
func (p *Provider) Status() ([]*machinev1alpha1.MachineClassStatus, error) {
	_, memKiB, cpus, _, _, _, _, _, err := p.lv.NodeGetInfo()
	if err != nil {
		return nil, runtimeerr.Errorf(runtimeerr.KindUnavailable, "reading host resources from libvirt: %v", err)
	}
	cpuBudget := int64(float64(cpus)*p.cfg.CPUOvercommit) - p.cfg.ReservedCPUs
	memBudget := int64(memKiB)<<10 - p.cfg.ReservedMemoryBytes
	out := make([]*machinev1alpha1.MachineClassStatus, 0, len(p.cfg.Classes))
	for _, c := range p.cfg.Classes {
		q := min(cpuBudget/c.CPU, memBudget/c.MemoryBytes)
		out = append(out, &machinev1alpha1.MachineClassStatus{
			MachineClass: &machinev1alpha1.MachineClass{
				Name:         c.Name,
				Capabilities: &machinev1alpha1.MachineClassCapabilities{Resources: map[string]int64{"cpu": c.CPU, "memory": c.MemoryBytes}},
			},
			Quantity: max(q, 0),
		})
	}
	return out, nil
}
