package localfed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/console"
	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/test/consoletest"
	"github.com/ironfed/ironfed/test/framework"
)

// TestProcessMode is what `make run` runs: every component as its own binary. It proves that
//   - each process got its chart's command line: the charts rendered by helm (default values)
//     and the processes' arguments agree flag by flag, except the per-installation flags
//     (localfed.InstanceFlags: names, sockets, ports) and the local-only ones (localfed.LocalFlags);
//   - a component killed with SIGKILL is restarted (new pid, a log that says so) and the chain
//     converges again: a Machine created at the root afterwards is Running at the root;
//   - its console opens from the root through every process hop, each TLS hop verified against
//     its cluster's CA;
//   - Down stops every process by pid: none is left.
func TestProcessMode(t *testing.T) {
	if testing.Short() {
		t.Skip("needs real clusters: run make test")
	}
	binDir := os.Getenv(localfed.BinDirEnv)
	if binDir == "" {
		t.Fatalf("$%s is not set: run make test, or hack/component-binaries.sh and export %s=<what it prints>", localfed.BinDirEnv, localfed.BinDirEnv)
	}
	charts := renderCharts(t)
	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var progress strings.Builder
	start := time.Now()
	fed, err := localfed.Up(t.Context(), localfed.Options{Dir: dir, CRDs: defs, BinDir: binDir, Progress: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	t.Cleanup(func() { _ = fed.Down() })
	procs := fed.Processes()
	t.Logf("federation of %d processes up in %s", len(procs), time.Since(start).Round(100*time.Millisecond))
	// root→region→leaf: a controller-manager per cluster, a poollet per kind and pool (two
	// joined pools, one leaf pool), a broker per kind and join, one memory provider.
	if want := 3 + 9 + 6 + 1; len(procs) != want {
		t.Errorf("%d processes, want %d", len(procs), want)
	}

	// Flags: every process against its chart's container.
	for _, p := range procs {
		want, ok := charts[p.Chart+"/"+p.Binary]
		if !ok {
			t.Errorf("%s: no container runs %s in chart %s", p.Name, p.Binary, p.Chart)
			continue
		}
		for _, d := range compareArgs(want, p.Args) {
			t.Errorf("%s (%s): %s", p.Name, p.Chart, d)
		}
	}

	// Kill the leaf's machinepoollet and the root's machine broker: both come back.
	var victims []*localfed.Process
	for _, p := range procs {
		if p.Name == "machinepoollet leaf/leaf-memory" || p.Name == "machinebroker root→region" {
			victims = append(victims, p)
		}
	}
	if len(victims) != 2 {
		t.Fatalf("victims not found among %v", names(procs))
	}
	killed := map[string]int{}
	for _, p := range victims {
		killed[p.Name] = p.PID()
		if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range victims {
		if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			pid := p.PID()
			return pid != 0 && pid != killed[p.Name], nil
		}); err != nil {
			t.Fatalf("%s (pid %d killed) never restarted", p.Name, killed[p.Name])
		}
		pidFile, err := os.ReadFile(p.PIDFile)
		if err != nil || strings.TrimSpace(string(pidFile)) != fmt.Sprint(p.PID()) {
			t.Errorf("%s: pid file %s holds %q, want %d (%v)", p.Name, p.PIDFile, pidFile, p.PID(), err)
		}
		log, err := os.ReadFile(p.Log)
		if err != nil || strings.Count(string(log), "=== ") < 2 {
			t.Errorf("%s: log %s does not show two starts (%v)", p.Name, p.Log, err)
		}
	}
	if r := fed.Restarts(); r["machinepoollet leaf/leaf-memory"] < 1 || r["machinebroker root→region"] < 1 {
		t.Errorf("restarts %v: want both victims counted", r)
	}
	t.Logf("killed %v; restarted as %d and %d", killed, victims[0].PID(), victims[1].PID())

	// The chain converges: a Machine created now runs at the root.
	root := fed.Client("root")
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "after-kill"},
		Spec: computev1alpha1.MachineSpec{MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "m-small"}}}
	created := time.Now()
	if err := root.Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := root.Get(ctx, client.ObjectKeyFromObject(m), m)
		return err == nil && m.Status.State == computev1alpha1.MachineStateRunning, nil
	}); err != nil {
		t.Fatalf("machine never Running at the root after the kills: %+v\n%s", m.Status, progress.String())
	}
	t.Logf("machine Running at the root %s after creation", time.Since(created).Round(100*time.Millisecond))

	// Its console, from the root through the restarted processes, verifying every TLS hop.
	key := types.NamespacedName{Namespace: "default", Name: "after-kill"}
	var u string
	if err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		url, err := console.URL(ctx, root, console.Options{Machine: key})
		if err == nil {
			u = url.String()
		}
		return err == nil, nil
	}); err != nil {
		t.Fatalf("console of %s never resolvable", key)
	}
	e, err := console.Executor(fed.Config("root"), mustURL(t, consoletest.WithQuery(u, true)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := consoletest.Start(t.Context(), e, true)
	if err := s.Type("hello from the root\n"); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor("hello from the root", 30*time.Second); err != nil {
		t.Fatalf("console: %v; output %q", err, s.Output())
	}
	_ = s.Close(10 * time.Second)

	// Each hop counted the session: the root's machinepoollet and the machine brokers, from
	// their /metrics (the session may take a moment to end at every hop).
	for _, name := range []string{"machinepoollet root/region", "machinebroker root→region", "machinepoollet region/leaf", "machinebroker region→leaf"} {
		hop := strings.Fields(name)[0]
		var metrics string
		if err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			metrics = scrape(t, procByName(t, procs, name))
			return strings.Contains(metrics, `ironfed_console_sessions_total{hop="`+hop+`",result="completed"} 1`) &&
				strings.Contains(metrics, `ironfed_console_sessions_active{hop="`+hop+`"} 0`), nil
		}); err != nil {
			t.Errorf("%s: no completed session counted, or one still active:\n%s", name, grepLines(metrics, "ironfed_console_sessions"))
		}
	}

	if err := fed.Down(); err != nil {
		t.Fatal(err)
	}
	if left, err := framework.ProcessesMentioning(dir); err != nil || len(left) > 0 {
		t.Fatalf("processes left after Down: %v (%v)", left, err)
	}
	for _, p := range procs {
		if _, err := os.Stat(p.PIDFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: pid file left after Down (%v)", p.Name, err)
		}
	}
}

// renderCharts renders the charts with their default values (plus what a release must set) and
// returns every container's arguments by "<chart>/<binary>".
func renderCharts(t *testing.T) map[string][]string {
	t.Helper()
	h := framework.NewHelm(t)
	chartsDir, err := filepath.Abs("../../charts")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for chart, set := range map[string][]string{
		"ironfed-control-plane": nil,
		"ironfed-leaf":          {"provider.memory.config.bucketEndpoint=example.invalid"},
		"ironfed-broker":        {"downstream.kubeconfigSecret=kc", "downstream.namespace=ns", "downstream.name=child"},
	} {
		for binary, args := range framework.ContainerArgs(t, h, filepath.Join(chartsDir, chart), "r", localfed.ReleaseNamespace, set...) {
			out[chart+"/"+binary] = args
		}
	}
	if len(out) < 8 {
		t.Fatalf("rendered containers: %v; want the controller-manager, memory-provider, 3 poollets (leaf and broker charts) and 3 brokers", slices.Sorted(maps.Keys(out)))
	}
	return out
}

// compareArgs lists how got (a process's flags) differs from want (its chart's container).
func compareArgs(want, got []string) []string {
	return framework.CompareArgs(want, got, localfed.InstanceFlags, localfed.LocalFlags)
}

func parseFlags(args []string) map[string][]string { return framework.ParseFlags(args) }

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func procByName(t *testing.T, ps []*localfed.Process, name string) *localfed.Process {
	t.Helper()
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no process %q among %v", name, names(ps))
	return nil
}

// scrape reads the process's /metrics.
func scrape(t *testing.T, p *localfed.Process) string {
	t.Helper()
	addr := parseFlags(p.Args)["--metrics-bind-address"]
	if len(addr) != 1 {
		t.Fatalf("%s: no metrics address in %v", p.Name, p.Args)
	}
	resp, err := http.Get("http://" + addr[0] + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func names(ps []*localfed.Process) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}
