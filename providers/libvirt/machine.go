package libvirt

import (
	"os"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

type machine = machinev1alpha1.Machine

// Create defines the machine's domain (persistent, named by a new id) and returns the machine; the
// reconcile worker then pulls its image, creates its disks and starts it. A machine whose poollet UID
// label matches an existing machine's is that machine. A failed create leaves nothing behind.
func (p *Provider) Create(in *machine) (*machine, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("machine is required")
	}
	if in.GetMetadata().GetId() != "" {
		return nil, runtimeerr.Invalidf("metadata.id must be empty: the runtime assigns ids")
	}
	spec := in.GetSpec()
	if spec == nil {
		return nil, runtimeerr.Invalidf("machine.spec is required")
	}
	if err := p.validateSpec(spec); err != nil {
		return nil, err
	}
	uid := in.GetMetadata().GetLabels()[labels.MachineUIDLabel]
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, runtimeerr.Errorf(runtimeerr.KindUnavailable, "the provider is shutting down")
	}
	for uid != "" {
		id, ok := p.byUID[uid]
		if !ok {
			// Reserve the UID so a concurrent retry waits for this create instead of duplicating it.
			p.byUID[uid] = ""
			break
		}
		if r := p.machines[id]; id != "" && r != nil {
			obj := r.obj
			p.mu.Unlock()
			return clone(obj), nil
		}
		// Another create with this UID is under way: wait for its outcome.
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		p.mu.Lock()
	}
	p.mu.Unlock()

	now := time.Now()
	obj := &machine{
		Metadata: &metav1alpha1.ObjectMetadata{
			Id: newID(), Labels: copyMap(in.GetMetadata().GetLabels()), Annotations: copyMap(in.GetMetadata().GetAnnotations()),
			Generation: 1, CreatedAt: now.UnixNano(),
		},
		Spec:   proto.Clone(spec).(*machinev1alpha1.MachineSpec),
		Status: &machinev1alpha1.MachineStatus{State: machinev1alpha1.MachineState_MACHINE_PENDING},
	}
	obj.Status.Volumes, obj.Status.NetworkInterfaces = pendingStatus(obj.Spec)
	if err := p.define(obj); err != nil {
		p.mu.Lock()
		if uid != "" {
			delete(p.byUID, uid)
		}
		p.mu.Unlock()
		return nil, err
	}
	id := obj.Metadata.Id
	p.mu.Lock()
	p.machines[id] = &record{obj: obj}
	if uid != "" {
		p.byUID[uid] = id
	}
	p.publishLocked(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED, obj)
	p.mu.Unlock()
	p.event(obj, EventNormal, "Created", "Defined domain "+id)
	p.enqueue(id)
	return clone(obj), nil
}

// define writes the machine directory and ignition and defines a first, bootless domain definition
// carrying the machine in its metadata; it undoes all of that when a step fails.
func (p *Provider) define(obj *machine) (err error) {
	id := obj.Metadata.Id
	dir := p.machineDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if len(obj.Spec.IgnitionData) > 0 {
		// The ignition may hold secrets: 0600, never logged, never in the domain metadata.
		if err := os.WriteFile(p.ignitionFile(id), obj.Spec.IgnitionData, 0o600); err != nil {
			return err
		}
	}
	meta, err := p.metaXML(obj, "", false)
	if err != nil {
		return err
	}
	x, err := renderDomain(p.baseDomain(obj, meta))
	if err != nil {
		return err
	}
	if _, err := p.lv.DomainDefineXMLFlags(x, golibvirt.DomainDefineValidate); err != nil {
		return runtimeerr.Errorf(runtimeerr.KindUnavailable, "defining domain %s: %v", id, err)
	}
	return nil
}

// baseDomain is the definition without image or disks (they come with the first reconcile).
func (p *Provider) baseDomain(obj *machine, meta string) domainSpec {
	c, _ := p.class(obj.Spec.Class)
	s := domainSpec{
		ID: obj.Metadata.Id, Type: p.domType, Meta: meta, VCPUs: c.CPU, MemoryBytes: c.MemoryBytes,
		ConsoleLog: p.ConsoleLog(obj.Metadata.Id), RootPorts: p.cfg.PCIeRootPorts,
	}
	if len(obj.Spec.IgnitionData) > 0 {
		s.IgnitionFile = p.ignitionFile(obj.Metadata.Id)
	}
	for _, n := range obj.Spec.NetworkInterfaces {
		s.NICs = append(s.NICs, nicSpec{Name: n.Name, MAC: macOf(obj.Metadata.Id, n), Bridge: n.Attributes[bridgeAttr]})
	}
	return s
}

// metaXML renders the machine (without ignition and status) for the domain's <metadata>.
func (p *Provider) metaXML(obj *machine, imageDigest string, bare bool) (string, error) {
	m := &machine{Metadata: obj.Metadata, Spec: proto.Clone(obj.Spec).(*machinev1alpha1.MachineSpec)}
	m.Spec.IgnitionData = nil
	b, err := protojson.Marshal(m)
	if err != nil {
		return "", err
	}
	return domainMeta{Owner: p.cfg.Owner, ImageDigest: imageDigest, Machine: string(b)}.marshal(bare)
}

// persist stores the machine's new metadata/spec in its domain right away, so a restart keeps it.
func (p *Provider) persist(obj *machine, imageDigest string) error {
	meta, err := p.metaXML(obj, imageDigest, true)
	if err != nil {
		return err
	}
	dom, err := p.lv.DomainLookupByName(obj.Metadata.Id)
	if err != nil {
		return runtimeerr.Errorf(runtimeerr.KindUnavailable, "looking up domain %s: %v", obj.Metadata.Id, err)
	}
	flags := golibvirt.DomainAffectConfig
	if st, _, err := p.lv.DomainGetState(dom, 0); err == nil && golibvirt.DomainState(st) != golibvirt.DomainShutoff {
		flags |= golibvirt.DomainAffectLive
	}
	if err := p.lv.DomainSetMetadata(dom, int32(golibvirt.DomainMetadataElement), golibvirt.OptString{meta},
		golibvirt.OptString{metadataKey}, golibvirt.OptString{MetadataURI}, flags); err != nil {
		return runtimeerr.Errorf(runtimeerr.KindUnavailable, "storing machine %s in its domain: %v", obj.Metadata.Id, err)
	}
	return nil
}

// update applies mutate to a copy of the machine; if it reports a spec change the generation grows.
// The change is persisted in the domain before it becomes visible.
func (p *Provider) update(id string, mutate func(m *machine) (specChanged bool, err error)) error {
	if err := checkID(id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.machines[id]
	if !ok || r.deleting {
		return runtimeerr.NotFoundf("machine %s not found", id)
	}
	next := clone(r.obj)
	changed, err := mutate(next)
	if err != nil {
		return err
	}
	if changed {
		next.Metadata.Generation++
	}
	if proto.Equal(next, r.obj) {
		return nil
	}
	// Persisting under the lock keeps the domain's copy in the order of the changes.
	if err := p.persist(next, r.imageDigest); err != nil {
		return err
	}
	r.obj = next
	p.publishLocked(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED, next)
	if changed {
		go p.enqueue(id)
	}
	return nil
}

// List returns copies of the machines matching id and sel (a malformed or unknown id: none).
func (p *Provider) List(id string, sel map[string]string) []*machine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*machine
	for _, r := range p.sortedLocked() {
		if matches(r.obj.Metadata, id, sel) {
			out = append(out, clone(r.obj))
		}
	}
	return out
}

// Get returns a copy of the machine.
func (p *Provider) Get(id string) (*machine, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.machines[id]
	if !ok {
		return nil, runtimeerr.NotFoundf("machine %s not found", id)
	}
	return clone(r.obj), nil
}

// Delete marks the machine for deletion; the worker destroys and undefines the domain and removes its
// disks and directory. Deleting an unknown id succeeds.
func (p *Provider) Delete(id string) error {
	if id == "" {
		return runtimeerr.Invalidf("machine_id is required")
	}
	if !validID(id) {
		return nil // nothing of that shape can exist
	}
	p.mu.Lock()
	r, ok := p.machines[id]
	if !ok || r.deleting {
		p.mu.Unlock()
		return nil
	}
	r.deleting = true
	next := clone(r.obj)
	next.Metadata.DeletedAt = time.Now().UnixNano()
	next.Status.State = machinev1alpha1.MachineState_MACHINE_TERMINATING
	r.obj = next
	p.publishLocked(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED, next)
	p.mu.Unlock()
	p.event(next, EventNormal, "Deleting", "Destroying domain and removing its disks")
	p.enqueue(id)
	return nil
}

// UpdateAnnotations replaces the annotations (not a spec change).
func (p *Provider) UpdateAnnotations(id string, annotations map[string]string) error {
	return p.update(id, func(m *machine) (bool, error) {
		m.Metadata.Annotations = copyMap(annotations)
		return false, nil
	})
}

// SetPower switches the machine on or off: off is an ACPI shutdown, destroyed after ShutdownTimeout.
func (p *Provider) SetPower(id string, power machinev1alpha1.Power) error {
	if err := checkPower(power); err != nil {
		return err
	}
	return p.update(id, func(m *machine) (bool, error) {
		if m.Spec.Power == power {
			return false, nil
		}
		m.Spec.Power = power
		return true, nil
	})
}

// AttachVolume adds a volume (hot-plugged when running).
func (p *Provider) AttachVolume(id string, v *machinev1alpha1.Volume) error {
	if err := checkVolume(v); err != nil {
		return err
	}
	if v.GetLocalDisk().GetImage().GetImage() != "" {
		return runtimeerr.Invalidf("volume %q: an image can only be given when the machine is created", v.Name)
	}
	return p.update(id, func(m *machine) (bool, error) {
		for _, have := range m.Spec.Volumes {
			if have.Name == v.Name {
				return false, runtimeerr.Errorf(runtimeerr.KindAlreadyExists, "machine %s already has a volume named %q; detach it first or use UpdateVolume", id, v.Name)
			}
			if have.Device == v.Device {
				return false, runtimeerr.Errorf(runtimeerr.KindAlreadyExists, "machine %s already has a volume on device %q (%s)", id, v.Device, have.Name)
			}
		}
		m.Spec.Volumes = append(m.Spec.Volumes, proto.Clone(v).(*machinev1alpha1.Volume))
		m.Status.Volumes = append(m.Status.Volumes, &machinev1alpha1.VolumeStatus{Name: v.Name})
		return true, nil
	})
}

// UpdateVolume replaces the volume of the same name; a larger size is a live resize.
func (p *Provider) UpdateVolume(id string, v *machinev1alpha1.Volume) error {
	if err := checkVolume(v); err != nil {
		return err
	}
	return p.update(id, func(m *machine) (bool, error) {
		for i, have := range m.Spec.Volumes {
			if have.Name != v.Name {
				continue
			}
			if proto.Equal(have, v) {
				return false, nil
			}
			if have.Device != v.Device || (have.LocalDisk == nil) != (v.LocalDisk == nil) {
				return false, runtimeerr.Invalidf("volume %q: device and kind cannot change; detach and attach it again", v.Name)
			}
			if have.LocalDisk != nil && (v.LocalDisk.SizeBytes < have.LocalDisk.SizeBytes || v.LocalDisk.GetImage().GetImage() != have.LocalDisk.GetImage().GetImage()) {
				return false, runtimeerr.Invalidf("volume %q: local disks can only grow and keep their image", v.Name)
			}
			m.Spec.Volumes[i] = proto.Clone(v).(*machinev1alpha1.Volume)
			return true, nil
		}
		return false, runtimeerr.NotFoundf("machine %s has no volume named %q", id, v.Name)
	})
}

// DetachVolume removes the volume named name (hot-unplugged when running).
func (p *Provider) DetachVolume(id, name string) error {
	if name == "" {
		return runtimeerr.Invalidf("name is required")
	}
	return p.update(id, func(m *machine) (bool, error) {
		for i, have := range m.Spec.Volumes {
			if have.Name == name {
				if have.GetLocalDisk().GetImage().GetImage() != "" {
					return false, runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume %q holds the machine's boot image and cannot be detached", name)
				}
				m.Spec.Volumes = append(m.Spec.Volumes[:i], m.Spec.Volumes[i+1:]...)
				m.Status.Volumes = dropVolumeStatus(m.Status.Volumes, name)
				return true, nil
			}
		}
		return false, runtimeerr.NotFoundf("machine %s has no volume named %q", id, name)
	})
}

// AttachNetworkInterface adds a user-mode NIC (hot-plugged when running).
func (p *Provider) AttachNetworkInterface(id string, n *machinev1alpha1.NetworkInterface) error {
	if err := checkNIC(n); err != nil {
		return err
	}
	return p.update(id, func(m *machine) (bool, error) {
		for _, have := range m.Spec.NetworkInterfaces {
			if have.Name == n.Name {
				return false, runtimeerr.Errorf(runtimeerr.KindAlreadyExists, "machine %s already has a network interface named %q; detach it first", id, n.Name)
			}
		}
		m.Spec.NetworkInterfaces = append(m.Spec.NetworkInterfaces, proto.Clone(n).(*machinev1alpha1.NetworkInterface))
		m.Status.NetworkInterfaces = append(m.Status.NetworkInterfaces, &machinev1alpha1.NetworkInterfaceStatus{Name: n.Name})
		return true, nil
	})
}

// DetachNetworkInterface removes the NIC named name.
func (p *Provider) DetachNetworkInterface(id, name string) error {
	if name == "" {
		return runtimeerr.Invalidf("name is required")
	}
	return p.update(id, func(m *machine) (bool, error) {
		for i, have := range m.Spec.NetworkInterfaces {
			if have.Name == name {
				m.Spec.NetworkInterfaces = append(m.Spec.NetworkInterfaces[:i], m.Spec.NetworkInterfaces[i+1:]...)
				var keep []*machinev1alpha1.NetworkInterfaceStatus
				for _, s := range m.Status.NetworkInterfaces {
					if s.Name != name {
						keep = append(keep, s)
					}
				}
				m.Status.NetworkInterfaces = keep
				return true, nil
			}
		}
		return false, runtimeerr.NotFoundf("machine %s has no network interface named %q", id, name)
	})
}

func dropVolumeStatus(in []*machinev1alpha1.VolumeStatus, name string) []*machinev1alpha1.VolumeStatus {
	var keep []*machinev1alpha1.VolumeStatus
	for _, s := range in {
		if s.Name != name {
			keep = append(keep, s)
		}
	}
	return keep
}

func pendingStatus(spec *machinev1alpha1.MachineSpec) ([]*machinev1alpha1.VolumeStatus, []*machinev1alpha1.NetworkInterfaceStatus) {
	var vs []*machinev1alpha1.VolumeStatus
	for _, v := range spec.Volumes {
		vs = append(vs, &machinev1alpha1.VolumeStatus{Name: v.Name})
	}
	var ns []*machinev1alpha1.NetworkInterfaceStatus
	for _, n := range spec.NetworkInterfaces {
		ns = append(ns, &machinev1alpha1.NetworkInterfaceStatus{Name: n.Name})
	}
	return vs, ns
}

// event records an event about the machine (event_time in Unix seconds).
func (p *Provider) event(obj *machine, typ, reason, msg string) {
	p.events.record(obj.Metadata, typ, reason, msg, time.Now().Unix())
	if typ == EventWarning {
		p.log.Info("Machine warning", "machine", obj.Metadata.Id, "reason", reason, "message", msg)
	}
}

// ListEvents returns the events matching the filter. Event times are Unix seconds (IronCore's unit);
// a bound too large for seconds is taken as Unix nanoseconds, which some clients send.
func (p *Provider) ListEvents(id string, sel map[string]string, from, to int64) []*eventv1alpha1.Event {
	return p.events.list(id, sel, from, to)
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
