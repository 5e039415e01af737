// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/poollet/core"
)

var states = map[machinev1alpha1.MachineState]computev1alpha1.MachineState{
	machinev1alpha1.MachineState_MACHINE_PENDING:     computev1alpha1.MachineStatePending,
	machinev1alpha1.MachineState_MACHINE_RUNNING:     computev1alpha1.MachineStateRunning,
	machinev1alpha1.MachineState_MACHINE_SUSPENDED:   computev1alpha1.MachineStateShutdown,
	machinev1alpha1.MachineState_MACHINE_STOPPED:     computev1alpha1.MachineStateShutdown,
	machinev1alpha1.MachineState_MACHINE_TERMINATED:  computev1alpha1.MachineStateTerminated,
	machinev1alpha1.MachineState_MACHINE_TERMINATING: computev1alpha1.MachineStateTerminating,
}

// ApplyStatus copies the IRI status; state, volumes and NICs only once the runtime observed
// the spec we last sent, so a stale Running never follows a power-off.
func (*adapter) ApplyStatus(_ context.Context, _ client.Client, m *computev1alpha1.Machine, actual *machinev1alpha1.Machine, runtimeName string, observed bool) error {
	m.Status.MachineID = runtimeName + "://" + actual.GetMetadata().GetId()
	if !observed {
		return nil
	}
	if g, _ := Generations(actual.GetMetadata().GetAnnotations()); g >= 0 {
		m.Status.ObservedGeneration = g
	}
	now := metav1.Now()
	if s := states[actual.GetStatus().GetState()]; s != m.Status.State {
		m.Status.State = s
	}
	volRefs := map[string]string{}
	for _, v := range m.Spec.Volumes {
		volRefs[v.Name] = VolumeName(m, v)
	}
	prevVol := map[string]computev1alpha1.VolumeStatus{}
	for _, v := range m.Status.Volumes {
		prevVol[v.Name] = v
	}
	var vols []computev1alpha1.VolumeStatus
	for _, v := range actual.GetStatus().GetVolumes() {
		st := computev1alpha1.VolumeStatus{Name: v.GetName(), Handle: v.GetHandle(), State: computev1alpha1.VolumeStatePending,
			VolumeRef: corev1.LocalObjectReference{Name: volRefs[v.GetName()]}}
		if v.GetState() == machinev1alpha1.VolumeState_VOLUME_ATTACHED {
			st.State = computev1alpha1.VolumeStateAttached
		}
		st.LastStateTransitionTime = transition(prevVol[v.GetName()].State == st.State, prevVol[v.GetName()].LastStateTransitionTime, now)
		vols = append(vols, st)
	}
	m.Status.Volumes = vols
	nicRefs := map[string]string{}
	for _, n := range m.Spec.NetworkInterfaces {
		nicRefs[n.Name] = NetworkInterfaceName(m, n)
	}
	prevNIC := map[string]computev1alpha1.NetworkInterfaceStatus{}
	for _, n := range m.Status.NetworkInterfaces {
		prevNIC[n.Name] = n
	}
	var nics []computev1alpha1.NetworkInterfaceStatus
	for _, n := range actual.GetStatus().GetNetworkInterfaces() {
		st := computev1alpha1.NetworkInterfaceStatus{Name: n.GetName(), Handle: n.GetHandle(), State: computev1alpha1.NetworkInterfaceStatePending,
			NetworkInterfaceRef: corev1.LocalObjectReference{Name: nicRefs[n.GetName()]}}
		if n.GetState() == machinev1alpha1.NetworkInterfaceState_NETWORK_INTERFACE_ATTACHED {
			st.State = computev1alpha1.NetworkInterfaceStateAttached
		}
		st.LastStateTransitionTime = transition(prevNIC[n.GetName()].State == st.State, prevNIC[n.GetName()].LastStateTransitionTime, now)
		nics = append(nics, st)
	}
	m.Status.NetworkInterfaces = nics
	// The runtime's own conditions; ours (Scheduled, PrerequisitesMet, RuntimeSynced) are never
	// overwritten: a broker passes the downstream's up, and each level reports its own.
	for _, c := range actual.GetStatus().GetMachineConditions() {
		if c.GetType() == "" || c.GetType() == ConditionPrerequisitesMet || c.GetType() == core.ConditionRuntimeSynced || c.GetType() == string(computev1alpha1.MachineScheduled) {
			continue
		}
		st := corev1.ConditionStatus(c.GetStatus())
		if st != corev1.ConditionTrue && st != corev1.ConditionFalse {
			st = corev1.ConditionUnknown
		}
		reason := c.GetReason()
		if reason == "" {
			reason = "ReportedByRuntime"
		}
		m.Status.Conditions, _ = conditions.Set(m.Status.Conditions, conditions.Machine, conditions.Condition{
			Type: c.GetType(), Status: st, Reason: reason, Message: c.GetMessage()})
	}
	return nil
}

func transition(same bool, prev *metav1.Time, now metav1.Time) *metav1.Time {
	if same && prev != nil {
		return prev
	}
	return &now
}

// Field indexes on the pool's machines: what each refers to, so an event on a Secret, Volume or
// NetworkInterface maps to its referrers without scanning the namespace (a broker's namespace
// holds every machine federated through the cluster).
const (
	indexIgnitionSecret    = "ironfed.machinepoollet/ignition-secret"
	indexVolume            = "ironfed.machinepoollet/volume"
	indexNetworkInterface  = "ironfed.machinepoollet/network-interface"
	indexWaitingForVolumes = "ironfed.machinepoollet/waiting-for-volumes"
)

func (*adapter) Indexes() []core.Index {
	machineIndex := func(f func(m *computev1alpha1.Machine) []string) client.IndexerFunc {
		return func(o client.Object) []string { return f(o.(*computev1alpha1.Machine)) }
	}
	return []core.Index{
		{Field: indexIgnitionSecret, Extract: machineIndex(func(m *computev1alpha1.Machine) []string {
			if m.Spec.IgnitionRef == nil {
				return nil
			}
			return []string{m.Spec.IgnitionRef.Name}
		})},
		{Field: indexVolume, Extract: machineIndex(func(m *computev1alpha1.Machine) []string {
			var out []string
			for _, v := range m.Spec.Volumes {
				if n := VolumeName(m, v); n != "" {
					out = append(out, n)
				}
			}
			return out
		})},
		{Field: indexNetworkInterface, Extract: machineIndex(func(m *computev1alpha1.Machine) []string {
			var out []string
			for _, n := range m.Spec.NetworkInterfaces {
				out = append(out, NetworkInterfaceName(m, n))
			}
			return out
		})},
		{Field: indexWaitingForVolumes, Extract: machineIndex(func(m *computev1alpha1.Machine) []string {
			if waitingFor(m, ReasonWaitingForVolumes) {
				return []string{"true"}
			}
			return nil
		})},
	}
}

// Watches re-reconcile machines when what they refer to appears or changes.
func (*adapter) Watches(c client.Reader) []core.Watch {
	byIndex := func(field string) func(string) []client.ListOption {
		return func(name string) []client.ListOption { return []client.ListOption{client.MatchingFields{field: name}} }
	}
	return []core.Watch{
		// Volume access Secrets are named after nothing we know here: any Secret change in the
		// namespace of a machine still waiting for volumes re-checks it.
		{Object: core.SecretWatch(), Map: referrers(c, byIndex(indexIgnitionSecret), func(string) []client.ListOption {
			return []client.ListOption{client.MatchingFields{indexWaitingForVolumes: "true"}}
		})},
		{Object: core.MetadataWatch(storagev1alpha1.SchemeGroupVersion.WithKind("Volume")), Map: referrers(c, byIndex(indexVolume))},
		{Object: core.MetadataWatch(networkingv1alpha1.SchemeGroupVersion.WithKind("NetworkInterface")), Map: referrers(c, byIndex(indexNetworkInterface))},
	}
}

// ReadLive: Prepare reads the Volumes and NetworkInterfaces a machine refers to from the
// apiserver; a cache of them would hold every one of the cluster, not only this pool's.
func (*adapter) ReadLive() []client.Object {
	return []client.Object{&storagev1alpha1.Volume{}, &networkingv1alpha1.NetworkInterface{}}
}

func waitingFor(m *computev1alpha1.Machine, reason string) bool {
	for _, c := range m.Status.Conditions {
		if string(c.Type) == ConditionPrerequisitesMet && c.Status == corev1.ConditionFalse && c.Reason == reason {
			return true
		}
	}
	return false
}

// referrers maps an object to the bound machines of its namespace that refer to it: the union
// of the indexed lists each query returns for the object's name.
func referrers(c client.Reader, queries ...func(name string) []client.ListOption) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		seen := map[string]bool{}
		var out []reconcile.Request
		for _, q := range queries {
			list := &computev1alpha1.MachineList{}
			if err := c.List(ctx, list, append(q(obj.GetName()), client.InNamespace(obj.GetNamespace()))...); err != nil {
				continue
			}
			for i := range list.Items {
				if name := list.Items[i].Name; !seen[name] {
					seen[name] = true
					out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}})
				}
			}
		}
		return out
	}
}
