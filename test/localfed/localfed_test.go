package localfed_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/topology"
	"github.com/ironfed/ironfed/test/framework"
	"github.com/ironfed/ironfed/test/localfed"
)

// TestUpAndDown is what `make run` does: clusters with CRDs and a ready controller-manager each,
// children joined under their parent until every pool is Ready, and nothing left running after Down.
func TestUpAndDown(t *testing.T) {
	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var progress strings.Builder
	// Fan-out: two leaves under the root, each joined by its own brokers.
	top, err := topology.Parse([]byte("clusters: [{name: root}, {name: a, parent: root}, {name: b, parent: root}]"))
	if err != nil {
		t.Fatal(err)
	}
	fed, err := localfed.Up(t.Context(), localfed.Options{Dir: dir, Topology: top, CRDs: defs, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Down() })
	for _, p := range fed.Pools() { // Up waited for them; they must still be Ready
		if ok, why, err := localfed.PoolStatus(t.Context(), fed.Client(p.Cluster), p); err != nil || !ok {
			t.Errorf("pool %+v not ready: %s %v", p, why, err)
		}
	}
	if n := len(fed.Pools()); n != 12 { // 3 kinds × (2 joined children + 2 leaf providers)
		t.Errorf("want 12 pools, got %d: %v", n, fed.Pools())
	}
	if len(fed.ControllerManagers) != 3 {
		t.Fatalf("want a controller-manager per cluster, got %v", fed.ControllerManagers)
	}
	for _, cm := range fed.ControllerManagers {
		if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			resp, err := http.Get("http://" + cm.Health + "/readyz")
			if err != nil {
				return false, nil
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		}); err != nil {
			t.Fatalf("controller-manager of %s never ready", cm.Cluster)
		}
	}
	var steps strings.Builder
	fed.PrintNextSteps(&steps, "kubectl")
	for _, c := range fed.Clusters {
		if !strings.Contains(steps.String(), c.KubeconfigPath) {
			t.Errorf("next steps do not name the kubeconfig of %s:\n%s", c.Name, steps.String())
		}
	}
	if err := fed.Down(); err != nil {
		t.Fatal(err)
	}
	left, err := framework.ProcessesMentioning(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("processes left after Down: %v", left)
	}
	if !strings.Contains(progress.String(), "federation up in") {
		t.Errorf("no progress output:\n%s", progress.String())
	}
}
