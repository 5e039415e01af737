package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1 "k8s.io/api/core/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/poollet/core"
)

func newMachine(ns, name string, withVolumeAndNIC bool) *computev1alpha1.Machine {
	m := &computev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: computev1alpha1.MachineSpec{
			MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "m-small"},
			Power:           computev1alpha1.PowerOn,
		},
	}
	if withVolumeAndNIC {
		ip := commonv1alpha1.IP("10.0.0.10")
		m.Spec.Volumes = []computev1alpha1.Volume{{Name: "root", VolumeSource: computev1alpha1.VolumeSource{Ephemeral: &computev1alpha1.EphemeralVolumeSource{
			VolumeTemplate: &storagev1alpha1.VolumeTemplateSpec{Spec: storagev1alpha1.VolumeSpec{
				VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
				Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("10Gi")},
			}},
		}}}}
		m.Spec.NetworkInterfaces = []computev1alpha1.NetworkInterface{{Name: "primary", NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{Ephemeral: &computev1alpha1.EphemeralNetworkInterfaceSource{
			NetworkInterfaceTemplate: &networkingv1alpha1.NetworkInterfaceTemplateSpec{Spec: networkingv1alpha1.NetworkInterfaceSpec{
				NetworkRef: commonv1alpha1.LocalObjectReference{Name: "default"},
				IPs:        []networkingv1alpha1.IPSource{{Value: &ip}},
			}},
		}}}}
	}
	return m
}

// rootState waits for the root machine to reach state and returns it.
func waitMachineState(t *testing.T, m *computev1alpha1.Machine, state computev1alpha1.MachineState) {
	t.Helper()
	eventually(t, fmt.Sprintf("machine %s %s at the root", m.Name, state), func(ctx context.Context) (bool, string, error) {
		if err := get(ctx, "root", m); err != nil {
			return false, "", err
		}
		return m.Status.State == state, fmt.Sprintf("state %q, conditions %+v", m.Status.State, m.Status.Conditions), nil
	})
}

// waitObservedEverywhere waits until the Machine at every level reports its current generation
// observed: each poollet saw, through the brokers' IRI generations, that the runtime below
// observed its last update.
func waitObservedEverywhere(t *testing.T, cp counterparts) {
	t.Helper()
	eventually(t, "every level observed its current generation", func(ctx context.Context) (bool, string, error) {
		for i, o := range cp.objs {
			m := o.(*computev1alpha1.Machine)
			if err := get(ctx, chain[i], m); err != nil {
				return false, "", err
			}
			if m.Status.ObservedGeneration != m.Generation {
				return false, fmt.Sprintf("machine in %s: generation %d, observed %d", chain[i], m.Generation, m.Status.ObservedGeneration), nil
			}
		}
		return true, "", nil
	})
}

func leafMachine(t *testing.T, id string) *machinev1alpha1.Machine {
	t.Helper()
	m, err := fed.Providers["leaf"].Machines.Get(id)
	if err != nil {
		t.Fatalf("provider machine %s: %v", id, err)
	}
	return m
}

// TestMachineThroughTheChain follows one Machine with an ephemeral Volume and NIC from creation
// at the root to Running, through power, a leaf status change, attach/detach and deletion.
func TestMachineThroughTheChain(t *testing.T) {
	ns := newNamespace(t, "machine")
	root := fed.Client("root")
	m := newMachine(ns, "web-0", true)
	if err := root.Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	waitMachineState(t, m, computev1alpha1.MachineStateRunning)

	var cp counterparts
	eventually(t, "counterparts at every level", func(ctx context.Context) (bool, string, error) {
		var err error
		cp, err = follow(ctx, "machine", m)
		return cp.complete(), fmt.Sprintf("found %d levels, provider id %q", len(cp.objs), cp.leafID), err
	})
	for i, o := range cp.objs[1:] {
		if s := o.(*computev1alpha1.Machine).Status.State; s != computev1alpha1.MachineStateRunning {
			t.Errorf("counterpart in %s is %s, want Running", chain[i+1], s)
		}
	}
	for i, o := range cp.objs {
		c, _ := conditions.Get(o.(*computev1alpha1.Machine).Status.Conditions, conditions.Machine, core.ConditionRuntimeSynced)
		if c.Status != corev1.ConditionTrue {
			t.Errorf("machine in %s: RuntimeSynced %s %s: %s; want True", chain[i], c.Status, c.Reason, c.Message)
		}
	}
	lm := leafMachine(t, cp.leafID)
	if len(lm.Spec.Volumes) != 1 || lm.Spec.Volumes[0].Connection == nil || lm.Spec.Volumes[0].Connection.Driver == "" {
		t.Errorf("leaf machine volumes %v: want the ephemeral volume connected", lm.Spec.Volumes)
	}
	if len(lm.Spec.NetworkInterfaces) != 1 || !slices.Equal(lm.Spec.NetworkInterfaces[0].Ips, []string{"10.0.0.10"}) || lm.Spec.NetworkInterfaces[0].NetworkId != "default" {
		t.Errorf("leaf machine NICs %v: want primary on network default with 10.0.0.10", lm.Spec.NetworkInterfaces)
	}
	rootVol := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-0-root"}}
	if err := get(t.Context(), "root", rootVol); err != nil || rootVol.Status.State != storagev1alpha1.VolumeStateAvailable {
		t.Errorf("ephemeral volume at the root: %v, state %q; want Available", err, rootVol.Status.State)
	}
	volCP, err := follow(t.Context(), "volume", rootVol)
	if err != nil || !volCP.complete() {
		t.Errorf("ephemeral volume counterparts: %d levels, provider %q, %v", len(volCP.objs), volCP.leafID, err)
	}

	t.Run("power off and on propagate", func(t *testing.T) {
		setPower(t, m, computev1alpha1.PowerOff)
		waitMachineState(t, m, computev1alpha1.MachineStateShutdown)
		if p := leafMachine(t, cp.leafID).Spec.Power; p != machinev1alpha1.Power_POWER_OFF {
			t.Errorf("leaf power %v, want off", p)
		}
		waitObservedEverywhere(t, cp)
		setPower(t, m, computev1alpha1.PowerOn)
		waitMachineState(t, m, computev1alpha1.MachineStateRunning)
		waitObservedEverywhere(t, cp)
	})

	t.Run("a leaf status change reaches the root", func(t *testing.T) {
		if err := fed.Providers["leaf"].Machines.SetGuestState(cp.leafID, machinev1alpha1.MachineState_MACHINE_TERMINATED); err != nil {
			t.Fatal(err)
		}
		waitMachineState(t, m, computev1alpha1.MachineStateTerminated)
		// A power cycle brings it back (the memory provider settles on spec changes).
		setPower(t, m, computev1alpha1.PowerOff)
		waitMachineState(t, m, computev1alpha1.MachineStateShutdown)
		setPower(t, m, computev1alpha1.PowerOn)
		waitMachineState(t, m, computev1alpha1.MachineStateRunning)
	})

	t.Run("attach and detach a volume", func(t *testing.T) {
		data := newVolume(ns, "data")
		if err := root.Create(t.Context(), data); err != nil {
			t.Fatal(err)
		}
		waitVolumeAvailable(t, data)
		patchMachine(t, m, func(m *computev1alpha1.Machine) {
			m.Spec.Volumes = append(m.Spec.Volumes, computev1alpha1.Volume{Name: "data", VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "data"}}})
		})
		eventually(t, "data attached at the leaf and reported at the root", func(ctx context.Context) (bool, string, error) {
			lm := leafMachine(t, cp.leafID)
			if err := get(ctx, "root", m); err != nil {
				return false, "", err
			}
			leafHas := slices.ContainsFunc(lm.Spec.Volumes, func(v *machinev1alpha1.Volume) bool { return v.Name == "data" && v.Connection != nil })
			rootAttached := slices.ContainsFunc(m.Status.Volumes, func(v computev1alpha1.VolumeStatus) bool {
				return v.Name == "data" && v.State == computev1alpha1.VolumeStateAttached
			})
			return leafHas && rootAttached, fmt.Sprintf("leaf has it: %v; root volume status %+v", leafHas, m.Status.Volumes), nil
		})
		patchMachine(t, m, func(m *computev1alpha1.Machine) {
			m.Spec.Volumes = slices.DeleteFunc(m.Spec.Volumes, func(v computev1alpha1.Volume) bool { return v.Name == "data" })
		})
		eventually(t, "data detached at the leaf", func(ctx context.Context) (bool, string, error) {
			lm := leafMachine(t, cp.leafID)
			has := slices.ContainsFunc(lm.Spec.Volumes, func(v *machinev1alpha1.Volume) bool { return v.Name == "data" })
			return !has && len(lm.Spec.Volumes) == 1, fmt.Sprintf("leaf volumes %v", lm.Spec.Volumes), nil
		})
		deleteAndWaitGone(t, "volume", data)
	})

	t.Run("delete at the root removes every level", func(t *testing.T) {
		if err := root.Delete(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		waitGoneEverywhere(t, "machine", cp)
		t.Logf("machine gone at every level after %s", time.Since(start).Round(10*time.Millisecond))
		waitGoneEverywhere(t, "volume", volCP)
		t.Logf("ephemeral volume gone at every level after %s", time.Since(start).Round(10*time.Millisecond))
		assertNoOrphans(t)
		t.Logf("no orphans after %s", time.Since(start).Round(10*time.Millisecond))
	})
}

func setPower(t *testing.T, m *computev1alpha1.Machine, p computev1alpha1.Power) {
	t.Helper()
	patchMachine(t, m, func(m *computev1alpha1.Machine) { m.Spec.Power = p })
}

func patchMachine(t *testing.T, m *computev1alpha1.Machine, mutate func(*computev1alpha1.Machine)) {
	t.Helper()
	if err := get(t.Context(), "root", m); err != nil {
		t.Fatal(err)
	}
	orig := m.DeepCopy()
	mutate(m)
	if err := fed.Client("root").Patch(t.Context(), m, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
}
