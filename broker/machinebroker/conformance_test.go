package machinebroker_test

import (
	"testing"
	"time"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/iri/conformance"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/brokertest"
)

// TestConformance runs every machine case against the broker, with the real
// controller-manager and machinepoollet (over a memory provider) serving
// the downstream pool, so machines really run. exec: the broker does not
// forward consoles (Unimplemented, which the suite reports as skipped).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	e := startEnv(t, func(o *common.Options) { o.PoolName = testPool })
	cfg := memory.DefaultConfig()
	cfg.MachineClasses = []memory.MachineClass{{Name: testClass, CPU: 2, MemoryBytes: 4 << 30, Capacity: 1000}}
	brokertest.RunDownstream(t, e.cluster.Config, "machine", testPool, cfg)
	cfg2 := conformance.Config{
		MachineEndpoint: "unix://" + e.socket,
		Focus:           `^machine/`,
		WaitTimeout:     30 * time.Second,
	}
	report := conformance.RunTests(t, cfg2)
	if report.Skipped != 1 {
		t.Errorf("%d cases skipped; only exec may be", report.Skipped)
	}
	// The hostile-input probe (issue 18): precise codes, nothing half-created.
	if rep := conformance.RunSuiteTests(t, cfg2, conformance.HostileSuite()); rep.Passed != 1 {
		t.Errorf("hostile inputs: %s", rep.Totals())
	}
}
