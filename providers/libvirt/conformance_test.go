package libvirt_test

import (
	"testing"
	"time"

	"github.com/ironfed/ironfed/iri/conformance"
)

// TestConformance runs the IRI conformance suite against the provider on a real socket with a real
// libvirtd. The suite's machines have no image: they boot SeaBIOS, find nothing and halt (no CPU).
func TestConformance(t *testing.T) {
	needDaemon(t)
	s := startProvider(t, shortTempDir(t), nil)
	cfg := conformance.Config{
		MachineEndpoint: s.endpoint,
		Focus:           "^machine/",
		// The suite attaches a ceph volume "conformance/data" on monitors 127.0.0.1:6789, where no
		// cluster with that pool runs here: QEMU fails to open it (or waits for the monitor), so it
		// cannot become attached. This case runs with real RBD volumes in providers/ceph/realceph
		// (TestLibvirtVolumeConformance), where the package's Ceph runs.
		Skip:         "^machine/attach-detach-volume$",
		WaitTimeout:  90 * time.Second,
		PollInterval: 200 * time.Millisecond,
	}
	rep := conformance.RunTests(t, cfg)
	if rep.Skipped > 0 {
		t.Errorf("%d cases skipped; the provider implements every RPC", rep.Skipped)
	}
	if rep.Passed == 0 {
		t.Error("no case passed")
	}
	t.Log(rep.Totals())
	// The hostile-input probe (issue 18): precise codes, nothing half-created, with real domains.
	if rep := conformance.RunSuiteTests(t, cfg, conformance.HostileSuite()); rep.Passed != 1 {
		t.Errorf("hostile inputs: %s", rep.Totals())
	}
}
