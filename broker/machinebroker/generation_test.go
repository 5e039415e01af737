package machinebroker_test

import (
	"fmt"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// TestIRIGeneration: on a real apiserver the downstream metadata.generation also counts writes
// that are no IRI update (here a spec write by someone else, as the downstream scheduler's
// binding). The IRI generation counts IRI updates only; the IRI observed generation reaches it
// once the downstream reports its own generation observed; both survive a broker restart.
func TestIRIGeneration(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	e := startEnv(t, func(o *common.Options) { o.PoolName = testPool })
	ctx := ctxT(t)
	created, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: "gen-1"})})
	must(t, err)
	id := created.Machine.Metadata.Id
	if g := created.Machine.Metadata.Generation; g != 1 {
		t.Fatalf("create answered IRI generation %d, want 1", g)
	}
	expect := func(what string, gen, observed int64) {
		t.Helper()
		eventually(t, what, func() (bool, string) {
			resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
			if err != nil || len(resp.Machines) != 1 {
				return false, fmt.Sprintf("list: %v", err)
			}
			m := resp.Machines[0]
			g, o := m.GetMetadata().GetGeneration(), m.GetStatus().GetObservedGeneration()
			return g == gen && o == observed, fmt.Sprintf("IRI generation %d observed %d, want %d and %d", g, o, gen, observed)
		})
	}
	// downstreamObserves plays the downstream poollet: its runtime observed the current spec.
	downstreamObserves := func() int64 {
		t.Helper()
		var m computev1alpha1.Machine
		must(t, e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: id}, &m))
		m.Status.ObservedGeneration = m.Generation
		must(t, e.kube.Status().Update(ctx, &m))
		return m.Generation
	}
	expect("a new machine, not observed below", 1, 0)
	downstreamObserves()
	expect("observed below", 1, 1)

	var m computev1alpha1.Machine
	must(t, e.kube.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: id}, &m))
	before := m.Generation
	m.Spec.MachinePoolSelector = map[string]string{"written-by": "someone-else"}
	must(t, e.kube.Update(ctx, &m))
	if m.Generation <= before {
		t.Fatalf("the downstream spec write left metadata.generation at %d", m.Generation)
	}
	expect("a foreign spec write: the IRI generation stays, the downstream is behind", 1, 0)
	downstreamObserves()
	expect("the foreign write observed", 1, 1)

	_, err = e.m.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF})
	must(t, err)
	expect("power off, not observed yet", 2, 1)
	_, err = e.m.UpdateMachineAnnotations(ctx, &machinev1alpha1.UpdateMachineAnnotationsRequest{MachineId: id, Annotations: map[string]string{"x": "1"}})
	must(t, err)
	expect("annotations are no spec change", 2, 1)
	downstreamObserves()
	expect("power off observed", 2, 2)

	e.stop()
	e.startBroker(t, func(o *common.Options) { o.PoolName = testPool })
	expect("after a broker restart", 2, 2)
	_, err = e.m.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_ON})
	must(t, err)
	expect("power on after the restart", 3, 2)
	downstreamObserves()
	expect("power on observed", 3, 3)
}
