package localfed_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/federation/topology"
	"github.com/ironfed/ironfed/test/framework"
)

// TestUpAndDown is what `make run` does: clusters with CRDs and a ready controller-manager each,
// children joined under their parent until every pool is Ready, and nothing left running after Down.
func TestUpAndDown(t *testing.T) {
	if testing.Short() {
		t.Skip("needs real clusters: run make test")
	}
	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var progress strings.Builder
	// Fan-out: two leaves under the root, each joined by its own brokers.
	top, err := topology.Parse([]byte(`clusters: [{name: root}, {name: a, parent: root, poolLabels: {zone: a}}, {name: b, parent: root, poolLabels: {zone: b}}]`))
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
	// A pool selector at the root picks the branch: the machine runs in b's provider, not a's.
	m := &computev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "in-b"},
		Spec: computev1alpha1.MachineSpec{
			MachineClassRef:     commonv1alpha1.LocalObjectReference{Name: "m-small"},
			MachinePoolSelector: map[string]string{"zone": "b"},
		},
	}
	if err := fed.Client("root").Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return fed.Providers["b"].Machines.Len() == 1, nil
	}); err != nil {
		t.Fatalf("machine never reached b's provider")
	}
	if n := fed.Providers["a"].Machines.Len(); n != 0 {
		t.Errorf("a's provider holds %d machines; the selector asked for b", n)
	}
	if err := fed.Client("root").Get(t.Context(), client.ObjectKeyFromObject(m), m); err != nil || m.Spec.MachinePoolRef == nil || m.Spec.MachinePoolRef.Name != "b" {
		t.Errorf("root machine bound to %v (%v); want pool b", m.Spec.MachinePoolRef, err)
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
