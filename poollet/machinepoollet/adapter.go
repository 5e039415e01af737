// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet

import (
	"context"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

// Finalizer is upstream's machinepoollet finalizer.
const Finalizer = computev1alpha1.MachinePoolletFinalizer

// ConditionPrerequisitesMet is ironfed's Machine condition saying whether everything the
// machine refers to exists and is usable.
const ConditionPrerequisitesMet = core.ConditionPrerequisitesMet

// adapter is the machine side of the generic reconciler.
type adapter struct {
	rt remote.MachineRuntime
}

// The capabilities this kind has (the core detects them; these make a signature slip a
// compile error instead of a silently missing capability).
var (
	_ core.Adapter[*computev1alpha1.Machine, *machinev1alpha1.Machine]           = (*adapter)(nil)
	_ core.Updater[*computev1alpha1.Machine, *machinev1alpha1.Machine]           = (*adapter)(nil)
	_ core.AnnotationUpdater                                                     = (*adapter)(nil)
	_ core.GenerationTracker[*computev1alpha1.Machine, *machinev1alpha1.Machine] = (*adapter)(nil)
	_ core.SecondaryWatcher                                                      = (*adapter)(nil)
	_ core.EventLister                                                           = (*adapter)(nil)
)

func (*adapter) Kind() labels.Kind             { return labels.Machine }
func (*adapter) New() *computev1alpha1.Machine { return &computev1alpha1.Machine{} }
func (*adapter) Finalizer() string             { return Finalizer }

func (*adapter) Prepare(ctx context.Context, c client.Reader, m *computev1alpha1.Machine) (*machinev1alpha1.Machine, *core.Waiting, error) {
	return prepare(ctx, c, m)
}

func (a *adapter) Create(ctx context.Context, desired *machinev1alpha1.Machine) (*machinev1alpha1.Machine, error) {
	res, err := a.rt.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: desired})
	if err != nil {
		return nil, err
	}
	return res.GetMachine(), nil
}

func (a *adapter) Delete(ctx context.Context, id string) error {
	_, err := a.rt.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: id})
	return err
}

func (a *adapter) SetAnnotations(ctx context.Context, id string, annotations map[string]string) error {
	_, err := a.rt.UpdateMachineAnnotations(ctx, &machinev1alpha1.UpdateMachineAnnotationsRequest{MachineId: id, Annotations: annotations})
	return err
}

// ObservedCurrent is upstream's rule: the runtime observed the IRI generation recorded in
// irimachine-generation when the poollet last brought the spec up to date. Without that
// annotation (an object from elsewhere), its current generation.
func (*adapter) ObservedCurrent(actual *machinev1alpha1.Machine) bool {
	_, want := Generations(actual.GetMetadata().GetAnnotations())
	if want < 0 {
		want = actual.GetMetadata().GetGeneration()
	}
	return actual.GetStatus().GetObservedGeneration() >= want
}

// GenerationAnnotations is upstream's pair: machine-generation (the Kubernetes generation the
// IRI spec reflects) and irimachine-generation (the IRI generation that spec has).
func (*adapter) GenerationAnnotations(m *computev1alpha1.Machine, iriGeneration int64) map[string]string {
	return map[string]string{
		labels.MachineGenerationAnnotation:    strconv.FormatInt(m.Generation, 10),
		labels.IRIMachineGenerationAnnotation: strconv.FormatInt(iriGeneration, 10),
	}
}

// RecordedIRIGeneration returns the IRI generation recorded when the spec was last brought up to
// date at m's current generation.
func (*adapter) RecordedIRIGeneration(m *computev1alpha1.Machine, annotations map[string]string) (int64, bool) {
	k8s, iri := Generations(annotations)
	return iri, k8s == m.Generation && iri >= 0
}

// Generations returns the Kubernetes generation and the IRI generation recorded on an IRI
// machine (upstream's machine-generation / irimachine-generation annotations), -1 if absent.
func Generations(annotations map[string]string) (k8s, iri int64) {
	parse := func(key string) int64 {
		g, err := strconv.ParseInt(annotations[key], 10, 64)
		if err != nil {
			return -1
		}
		return g
	}
	return parse(labels.MachineGenerationAnnotation), parse(labels.IRIMachineGenerationAnnotation)
}

// Update diffs power, volumes and network interfaces by name.
func (a *adapter) Update(ctx context.Context, _ *computev1alpha1.Machine, desired, actual *machinev1alpha1.Machine) (bool, error) {
	id := actual.GetMetadata().GetId()
	changed := false
	if desired.Spec.Power != actual.GetSpec().GetPower() {
		if _, err := a.rt.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: desired.Spec.Power}); err != nil {
			return changed, err
		}
		changed = true
	}
	have := map[string]*machinev1alpha1.Volume{}
	for _, v := range actual.GetSpec().GetVolumes() {
		have[v.GetName()] = v
	}
	want := map[string]bool{}
	for _, v := range desired.Spec.Volumes {
		want[v.Name] = true
		cur, ok := have[v.Name]
		switch {
		case !ok:
			if _, err := a.rt.AttachVolume(ctx, &machinev1alpha1.AttachVolumeRequest{MachineId: id, Volume: v}); ignore(err, codes.AlreadyExists) != nil {
				return changed, err
			}
			changed = true
		case v.Connection != nil && cur.GetConnection().GetEffectiveStorageBytes() != v.Connection.EffectiveStorageBytes:
			if _, err := a.rt.UpdateVolume(ctx, &machinev1alpha1.UpdateVolumeRequest{MachineId: id, Volume: v}); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	for name := range have {
		if !want[name] {
			if _, err := a.rt.DetachVolume(ctx, &machinev1alpha1.DetachVolumeRequest{MachineId: id, Name: name}); ignore(err, codes.NotFound) != nil {
				return changed, err
			}
			changed = true
		}
	}
	haveNIC := map[string]bool{}
	for _, n := range actual.GetSpec().GetNetworkInterfaces() {
		haveNIC[n.GetName()] = true
	}
	wantNIC := map[string]bool{}
	for _, n := range desired.Spec.NetworkInterfaces {
		wantNIC[n.Name] = true
		if !haveNIC[n.Name] {
			if _, err := a.rt.AttachNetworkInterface(ctx, &machinev1alpha1.AttachNetworkInterfaceRequest{MachineId: id, NetworkInterface: n}); ignore(err, codes.AlreadyExists) != nil {
				return changed, err
			}
			changed = true
		}
	}
	for name := range haveNIC {
		if !wantNIC[name] {
			if _, err := a.rt.DetachNetworkInterface(ctx, &machinev1alpha1.DetachNetworkInterfaceRequest{MachineId: id, Name: name}); ignore(err, codes.NotFound) != nil {
				return changed, err
			}
			changed = true
		}
	}
	return changed, nil
}

// ignore drops errors of code c: the watch cache lags behind our own calls, so a repeated
// attach or detach is expected.
func ignore(err error, c codes.Code) error {
	if status.Code(err) == c {
		return nil
	}
	return err
}

func (*adapter) SetCondition(m *computev1alpha1.Machine, c conditions.Condition) {
	m.Status.Conditions, _ = conditions.Set(m.Status.Conditions, conditions.Machine, c)
}

func (a *adapter) ListEvents(ctx context.Context, from, to int64) ([]*eventv1alpha1.Event, error) {
	res, err := a.rt.ListEvents(ctx, &machinev1alpha1.ListEventsRequest{Filter: &machinev1alpha1.EventFilter{EventsFromTime: from, EventsToTime: to}})
	return res.GetEvents(), err
}

func powerOf(p computev1alpha1.Power) machinev1alpha1.Power {
	if p == computev1alpha1.PowerOff {
		return machinev1alpha1.Power_POWER_OFF
	}
	return machinev1alpha1.Power_POWER_ON
}

func quantityBytes(q *resource.Quantity) int64 {
	if q == nil {
		return 0
	}
	return q.Value()
}
