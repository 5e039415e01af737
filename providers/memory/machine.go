package memory

import (
	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

type machine = machinev1alpha1.Machine

// Machines is the machine runtime's domain: a Store of machines plus the
// machine-specific operations. It knows nothing about gRPC.
type Machines struct {
	*Store[*machine]
	classes []MachineClass
	byName  map[string]MachineClass
	exec    func(id string) (string, error)
}

func newMachines(cfg Config, events *EventLog) *Machines {
	m := &Machines{classes: cfg.MachineClasses, byName: map[string]MachineClass{}}
	capacity := map[string]int64{}
	for _, c := range cfg.MachineClasses {
		m.byName[c.Name] = c
		capacity[c.Name] = c.Capacity
	}
	m.Store = newStore(kindOps[*machine]{
		kind:      "machine",
		idField:   "machine_id",
		uidLabel:  labels.MachineUIDLabel,
		class:     func(o *machine) (string, int64) { return o.GetSpec().GetClass(), 1 },
		settle:    settleMachine,
		terminate: func(o *machine) { o.Status.State = machinev1alpha1.MachineState_MACHINE_TERMINATING },
	}, cfg, events, capacity)
	return m
}

// Create creates a machine from in (which it does not keep) and returns a
// copy of the stored machine. A machine whose poollet UID label matches an
// existing machine's is that machine: the create is not repeated.
func (m *Machines) Create(in *machine) (*machine, error) {
	obj, err := m.create(in)
	if err != nil {
		return nil, err
	}
	return clone(obj), nil
}

func (m *Machines) create(in *machine) (*machine, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("machine is required")
	}
	if err := checkNewMetadata(in.GetMetadata()); err != nil {
		return nil, err
	}
	spec := in.GetSpec()
	if spec == nil {
		return nil, runtimeerr.Invalidf("machine.spec is required")
	}
	if err := m.validateSpec(spec); err != nil {
		return nil, err
	}
	obj := &machine{
		Metadata: newMetadata(in.GetMetadata()),
		Spec:     proto.Clone(spec).(*machinev1alpha1.MachineSpec),
		Status:   &machinev1alpha1.MachineStatus{State: machinev1alpha1.MachineState_MACHINE_PENDING},
	}
	for _, v := range spec.Volumes {
		obj.Status.Volumes = append(obj.Status.Volumes, &machinev1alpha1.VolumeStatus{Name: v.Name})
	}
	for _, n := range spec.NetworkInterfaces {
		obj.Status.NetworkInterfaces = append(obj.Status.NetworkInterfaces, &machinev1alpha1.NetworkInterfaceStatus{Name: n.Name})
	}
	return m.Store.create(obj)
}

func (m *Machines) validateSpec(spec *machinev1alpha1.MachineSpec) error {
	if spec.Class == "" {
		return runtimeerr.Invalidf("machine.spec.class is required; supported machine classes: %s", m.classNames())
	}
	if _, ok := m.byName[spec.Class]; !ok {
		return runtimeerr.Invalidf("machine class %q is not supported; supported machine classes: %s", spec.Class, m.classNames())
	}
	if n := len(spec.IgnitionData); n > MaxIgnitionBytes {
		return runtimeerr.Invalidf("machine.spec.ignition_data is %d bytes; at most %d bytes (1 MiB) are allowed", n, MaxIgnitionBytes)
	}
	if err := checkPower(spec.Power); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, v := range spec.Volumes {
		if err := checkMachineVolume(v); err != nil {
			return err
		}
		if seen[v.Name] {
			return runtimeerr.Invalidf("machine.spec.volumes: name %q is used twice", v.Name)
		}
		seen[v.Name] = true
	}
	seen = map[string]bool{}
	for _, n := range spec.NetworkInterfaces {
		if err := checkNIC(n); err != nil {
			return err
		}
		if seen[n.Name] {
			return runtimeerr.Invalidf("machine.spec.network_interfaces: name %q is used twice", n.Name)
		}
		seen[n.Name] = true
	}
	return nil
}

func (m *Machines) classNames() string {
	names := make([]string, 0, len(m.classes))
	for _, c := range m.classes {
		names = append(names, c.Name)
	}
	return joinOrNone(names)
}

// UpdateAnnotations replaces the machine's annotations. Annotations are not
// spec: the generation stays.
func (m *Machines) UpdateAnnotations(id string, annotations map[string]string) error {
	_, err := m.update(id, func(o *machine) (bool, error) {
		o.Metadata.Annotations = copyMap(annotations)
		return false, nil
	})
	return err
}

// SetPower switches the machine on or off.
func (m *Machines) SetPower(id string, power machinev1alpha1.Power) error {
	if err := checkPower(power); err != nil {
		return err
	}
	_, err := m.update(id, func(o *machine) (bool, error) {
		if o.Spec.Power == power {
			return false, nil
		}
		o.Spec.Power = power
		return true, nil
	})
	return err
}

// SetGuestState changes the state the host sees without a spec change, as when a guest crashes
// or shuts itself down; the next spec change (a power switch) settles it again. Tests and demos
// use it to make something happen at a leaf.
func (m *Machines) SetGuestState(id string, state machinev1alpha1.MachineState) error {
	if _, ok := machinev1alpha1.MachineState_name[int32(state)]; !ok {
		return runtimeerr.Invalidf("machine state %d is not valid", int32(state))
	}
	_, err := m.update(id, func(o *machine) (bool, error) {
		o.Status.State = state
		return false, nil
	})
	return err
}

// AttachVolume adds a volume; a volume of the same name is AlreadyExists.
func (m *Machines) AttachVolume(id string, v *machinev1alpha1.Volume) error {
	if v == nil {
		return runtimeerr.Invalidf("volume is required")
	}
	if err := checkMachineVolume(v); err != nil {
		return err
	}
	_, err := m.update(id, func(o *machine) (bool, error) {
		for _, have := range o.Spec.Volumes {
			if have.Name == v.Name {
				return false, runtimeerr.Errorf(runtimeerr.KindAlreadyExists, "machine %s already has a volume named %q; detach it first or use UpdateVolume", id, v.Name)
			}
		}
		o.Spec.Volumes = append(o.Spec.Volumes, proto.Clone(v).(*machinev1alpha1.Volume))
		o.Status.Volumes = append(o.Status.Volumes, &machinev1alpha1.VolumeStatus{Name: v.Name})
		return true, nil
	})
	return err
}

// UpdateVolume replaces the attached volume of the same name.
func (m *Machines) UpdateVolume(id string, v *machinev1alpha1.Volume) error {
	if v == nil {
		return runtimeerr.Invalidf("volume is required")
	}
	if err := checkMachineVolume(v); err != nil {
		return err
	}
	_, err := m.update(id, func(o *machine) (bool, error) {
		for i, have := range o.Spec.Volumes {
			if have.Name == v.Name {
				if proto.Equal(have, v) {
					return false, nil
				}
				o.Spec.Volumes[i] = proto.Clone(v).(*machinev1alpha1.Volume)
				return true, nil
			}
		}
		return false, runtimeerr.NotFoundf("machine %s has no volume named %q", id, v.Name)
	})
	return err
}

// DetachVolume removes the volume named name.
func (m *Machines) DetachVolume(id, name string) error {
	if name == "" {
		return runtimeerr.Invalidf("name is required")
	}
	_, err := m.update(id, func(o *machine) (bool, error) {
		for i, have := range o.Spec.Volumes {
			if have.Name == name {
				o.Spec.Volumes = append(o.Spec.Volumes[:i], o.Spec.Volumes[i+1:]...)
				return true, nil
			}
		}
		return false, runtimeerr.NotFoundf("machine %s has no volume named %q", id, name)
	})
	return err
}

// AttachNetworkInterface adds a network interface; one of the same name is
// AlreadyExists.
func (m *Machines) AttachNetworkInterface(id string, n *machinev1alpha1.NetworkInterface) error {
	if n == nil {
		return runtimeerr.Invalidf("network_interface is required")
	}
	if err := checkNIC(n); err != nil {
		return err
	}
	_, err := m.update(id, func(o *machine) (bool, error) {
		for _, have := range o.Spec.NetworkInterfaces {
			if have.Name == n.Name {
				return false, runtimeerr.Errorf(runtimeerr.KindAlreadyExists, "machine %s already has a network interface named %q; detach it first", id, n.Name)
			}
		}
		o.Spec.NetworkInterfaces = append(o.Spec.NetworkInterfaces, proto.Clone(n).(*machinev1alpha1.NetworkInterface))
		o.Status.NetworkInterfaces = append(o.Status.NetworkInterfaces, &machinev1alpha1.NetworkInterfaceStatus{Name: n.Name})
		return true, nil
	})
	return err
}

// DetachNetworkInterface removes the network interface named name.
func (m *Machines) DetachNetworkInterface(id, name string) error {
	if name == "" {
		return runtimeerr.Invalidf("name is required")
	}
	_, err := m.update(id, func(o *machine) (bool, error) {
		for i, have := range o.Spec.NetworkInterfaces {
			if have.Name == name {
				o.Spec.NetworkInterfaces = append(o.Spec.NetworkInterfaces[:i], o.Spec.NetworkInterfaces[i+1:]...)
				return true, nil
			}
		}
		return false, runtimeerr.NotFoundf("machine %s has no network interface named %q", id, name)
	})
	return err
}

// Status reports every machine class with its total capacity (not what is
// left: the poollet derives allocatable, see docs/iri.md).
func (m *Machines) Status() []*machinev1alpha1.MachineClassStatus {
	out := make([]*machinev1alpha1.MachineClassStatus, 0, len(m.classes))
	for _, c := range m.classes {
		out = append(out, &machinev1alpha1.MachineClassStatus{
			MachineClass: &machinev1alpha1.MachineClass{
				Name: c.Name,
				Capabilities: &machinev1alpha1.MachineClassCapabilities{Resources: map[string]int64{
					"cpu":    c.CPU,
					"memory": c.MemoryBytes,
				}},
			},
			Quantity: c.Capacity,
		})
	}
	return out
}

// Exec returns a single-use URL of the running machine's console (a
// remotecommand endpoint). Without an exec server (Config.ExecBaseURL) it is
// Unsupported.
func (m *Machines) Exec(id string) (string, error) {
	if err := m.checkRunning(id); err != nil {
		return "", err
	}
	return m.exec(id)
}

// checkNewMetadata checks the metadata of a create request.
func checkNewMetadata(md *metav1alpha1.ObjectMetadata) error {
	if md.GetId() != "" {
		return runtimeerr.Invalidf("metadata.id must be empty: the runtime assigns ids")
	}
	return nil
}

// newMetadata keeps the labels and annotations of a create request; the
// store sets the rest.
func newMetadata(in *metav1alpha1.ObjectMetadata) *metav1alpha1.ObjectMetadata {
	return &metav1alpha1.ObjectMetadata{Labels: copyMap(in.GetLabels()), Annotations: copyMap(in.GetAnnotations())}
}
