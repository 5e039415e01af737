package conformance

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// CaseAnnotation is set on every created object to the creating case's name.
const CaseAnnotation = "conformance.ironfed.dev/case"

// maxIgnitionBytes is the ignition size every runtime must accept; one byte
// more must be refused (docs/iri.md).
const maxIgnitionBytes = 1 << 20

type machine = machinev1alpha1.Machine

// machineClass is the class with the largest quantity in Status.
func (c *C) machineClass(ctx context.Context) classInfo {
	return c.env.classes.get(&c.env.classes.machine, func() classInfo {
		resp, err := c.Machine().Status(ctx, &machinev1alpha1.StatusRequest{})
		if err != nil {
			return classInfo{err: fmt.Errorf("discovering machine classes with Status: %w", err)}
		}
		var best classInfo
		for _, s := range resp.GetMachineClassStatus() {
			if n := s.GetMachineClass().GetName(); n != "" && (best.name == "" || s.GetQuantity() > best.quantity) {
				best = classInfo{name: n, quantity: s.GetQuantity()}
			}
		}
		if best.name == "" {
			best.err = errors.New("the Status RPC reports no machine class, so no machine can be created")
		}
		return best
	})
}

// newMachine builds a create request object of the discovered class.
func (c *C) newMachine(ctx context.Context, lbls map[string]string) (*machine, error) {
	ci := c.machineClass(ctx)
	if ci.err != nil {
		return nil, ci.err
	}
	return &machine{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: lbls, Annotations: map[string]string{CaseAnnotation: c.Name()}},
		Spec:     &machinev1alpha1.MachineSpec{Class: ci.name, Power: machinev1alpha1.Power_POWER_ON},
	}, nil
}

func (c *C) createMachine(ctx context.Context, m *machine) (*machine, error) {
	resp, err := c.Machine().CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: m})
	if err != nil {
		return nil, err
	}
	if resp.GetMachine().GetMetadata().GetId() == "" {
		return nil, errors.New("CreateMachine answered without a machine id")
	}
	return resp.Machine, nil
}

func machineAPI() *kindAPI[*machine] {
	return &kindAPI[*machine]{
		runtime:  Machine,
		uidLabel: labels.MachineUIDLabel,
		version: func(ctx context.Context, c *C) (string, string, error) {
			r, err := c.Machine().Version(ctx, &machinev1alpha1.VersionRequest{Version: "v1alpha1"})
			return r.GetRuntimeName(), r.GetRuntimeVersion(), err
		},
		create: func(ctx context.Context, c *C, lbls map[string]string) (*machine, error) {
			m, err := c.newMachine(ctx, lbls)
			if err != nil {
				return nil, err
			}
			return c.createMachine(ctx, m)
		},
		list: func(ctx context.Context, c *C, id string, sel map[string]string) ([]*machine, error) {
			r, err := c.Machine().ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id, LabelSelector: sel}})
			return r.GetMachines(), err
		},
		del: func(ctx context.Context, c *C, id string) error {
			_, err := c.Machine().DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: id})
			return err
		},
		ready: func(m *machine) (bool, string) {
			st := m.GetStatus().GetState()
			return st == machinev1alpha1.MachineState_MACHINE_RUNNING, "state " + st.String()
		},
		modify: func(ctx context.Context, c *C, id string) (func(*machine) bool, error) {
			const key = "conformance.ironfed.dev/modified"
			_, err := c.Machine().UpdateMachineAnnotations(ctx, &machinev1alpha1.UpdateMachineAnnotationsRequest{
				MachineId: id, Annotations: map[string]string{CaseAnnotation: c.Name(), key: "true"},
			})
			return func(m *machine) bool { return m.GetMetadata().GetAnnotations()[key] == "true" }, err
		},
		events: func(ctx context.Context, c *C, f eventFilter) ([]*eventv1alpha1.Event, error) {
			r, err := c.Machine().ListEvents(ctx, &machinev1alpha1.ListEventsRequest{Filter: &machinev1alpha1.EventFilter{
				Id: f.id, LabelSelector: f.selector, EventsFromTime: f.from, EventsToTime: f.to,
			}})
			return r.GetEvents(), err
		},
		watch: func(ctx context.Context, c *C, sel map[string]string, initial bool) (func() (watchEvent[*machine], error), error) {
			s, err := c.Machine().WatchMachines(ctx, &machinev1alpha1.WatchMachinesRequest{
				Filter: &machinev1alpha1.MachineFilter{LabelSelector: sel}, SendInitialList: initial,
			})
			if err != nil {
				return nil, err
			}
			return watchRecv(s, func(e *machinev1alpha1.WatchMachinesEvent) watchEvent[*machine] {
				return watchEvent[*machine]{typ: watchType(e.GetType()), obj: e.GetObject(), seq: e.GetSequence()}
			}), nil
		},
		parallelism: func(ctx context.Context, c *C) int { return parallelism(c.machineClass(ctx).quantity) },
		badCreates:  machineBadCreates,
		idCalls:     machineIDCalls,
	}
}

func machineBadCreates(ctx context.Context, c *C) []badCall {
	invalid := []codes.Code{codes.InvalidArgument}
	create := func(mutate func(*machine) *machine) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			m, err := c.newMachine(ctx, c.Labels())
			if err != nil {
				return fmt.Errorf("building the request: %w", err)
			}
			_, err = c.Machine().CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: mutate(m)})
			return err
		}
	}
	return []badCall{
		{"no machine", func(ctx context.Context) error {
			_, err := c.Machine().CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{})
			return err
		}, invalid},
		{"no spec", create(func(m *machine) *machine { m.Spec = nil; return m }), invalid},
		{"missing class", create(func(m *machine) *machine { m.Spec.Class = ""; return m }), invalid},
		{"unknown class", create(func(m *machine) *machine { m.Spec.Class = "conformance-no-such-class"; return m }), invalid},
		{"oversized ignition", create(func(m *machine) *machine { m.Spec.IgnitionData = make([]byte, maxIgnitionBytes+1); return m }), invalid},
	}
}

func machineIDCalls(c *C, id string) []badCall {
	vol := &machinev1alpha1.Volume{Name: "conformance", Device: "odb", LocalDisk: &machinev1alpha1.LocalDisk{SizeBytes: 1 << 30}}
	nic := &machinev1alpha1.NetworkInterface{Name: "conformance", NetworkId: "conformance"}
	m := c.Machine()
	return []badCall{
		{"UpdateMachineAnnotations", func(ctx context.Context) error {
			_, err := m.UpdateMachineAnnotations(ctx, &machinev1alpha1.UpdateMachineAnnotationsRequest{MachineId: id})
			return err
		}, nil},
		{"UpdateMachinePower", func(ctx context.Context) error {
			_, err := m.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF})
			return err
		}, nil},
		{"AttachVolume", func(ctx context.Context) error {
			_, err := m.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: vol})
			return err
		}, nil},
		{"UpdateVolume", func(ctx context.Context) error {
			_, err := m.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: vol})
			return err
		}, nil},
		{"DetachVolume", func(ctx context.Context) error {
			_, err := m.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: vol.Name})
			return err
		}, nil},
		{"AttachNetworkInterface", func(ctx context.Context) error {
			_, err := m.AttachNetworkInterface(ctx, &machinev1alpha1.AttachNetworkInterfaceRequest{MachineId: id, NetworkInterface: nic})
			return err
		}, nil},
		{"DetachNetworkInterface", func(ctx context.Context) error {
			_, err := m.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: nic.Name})
			return err
		}, nil},
	}
}

// parallelism is how many objects the parallel-create case makes: 50, or
// fewer when the class holds fewer.
func parallelism(quantity int64) int {
	if quantity <= 0 || quantity >= 50 {
		return 50
	}
	return int(quantity)
}
