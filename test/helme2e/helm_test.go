// Package helme2e_test is the Helm end-to-end test: three clusters with real nodes, root → region
// → leaf, on which ironfed is installed only with helm install --wait of its charts, and the chain
// behaves as the in-process federation does, through pod kills, upgrades and uninstalls.
package helme2e_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ironfed/ironfed/federation/api"
	"github.com/ironfed/ironfed/federation/console"
	"github.com/ironfed/ironfed/federation/join"
	"github.com/ironfed/ironfed/test/framework"
)

const (
	chartsDir = "../../charts"
	ns        = "ironfed-system"
	// Namespaces the brokers write to downstream (ironfed join --namespace).
	regionNS = "ironfed-root"   // in the region, for the root's brokers
	leafNS   = "ironfed-region" // in the leaf, for the region's brokers
)

// kinds the chain carries; a Machine's ephemeral Volume and NIC go down with it.
const kinds = "machines,volumes,networkinterfaces,buckets"

type release struct {
	chart, name string
	set         []string
}

// TestHelmFederation installs the federation with helm install --wait only, then checks: the
// examples reach Running/Available at the root; a killed broker pod comes back without duplicating
// anything downstream; a helm upgrade of the control plane with objects in flight loses none;
// deletion empties every level; helm uninstall leaves nothing of the releases.
func TestHelmFederation(t *testing.T) {
	h := framework.NewHelm(t)
	images := framework.Images(t)
	cs := clusters(t, "root", "region", "leaf")
	root, region, leaf := cs[0], cs[1], cs[2]
	ctx := t.Context()
	image := []string{"image.tag=" + images["IRONFED_IMAGE_TAG"], "image.pullPolicy=Never"}
	controlPlane := release{"ironfed-control-plane", "control-plane", image}
	// Consoles on: the poollets advertise their pod IPs, which the node clusters route between them.
	withConsole := append([]string{"console.enabled=true"}, image...)
	leafRelease := release{"ironfed-leaf", "leaf", withConsole}
	leafBroker := release{"ironfed-broker", "leaf", append([]string{"downstream.kubeconfigSecret=leaf-kubeconfig", "downstream.namespace=" + leafNS}, withConsole...)}
	regionBroker := release{"ironfed-broker", "region", append([]string{"downstream.kubeconfigSecret=region-kubeconfig", "downstream.namespace=" + regionNS}, withConsole...)}

	start := time.Now()
	parallel(t, cs, func(c *cluster) error { return install(ctx, h, c, controlPlane, "install", "--create-namespace") })
	t.Logf("timing: helm install --wait of the control plane in 3 clusters: %s", time.Since(start).Round(time.Millisecond))
	t0 := time.Now()
	if err := install(ctx, h, leaf, leafRelease, "install"); err != nil {
		t.Fatal(err)
	}
	t.Logf("timing: helm install --wait of the leaf chart: %s", time.Since(t0).Round(time.Millisecond))
	// region -> leaf, then root -> region, each with the Secret made of ironfed join's kubeconfig.
	for _, hop := range []struct {
		up, down       *cluster
		broker         string
		secret, joinNS string
		r              release
	}{
		{region, leaf, "region-broker", "leaf-kubeconfig", leafNS, leafBroker},
		{root, region, "root-broker", "region-kubeconfig", regionNS, regionBroker},
	} {
		t0 := time.Now()
		kubeconfig := joinKubeconfig(t, hop.down, hop.broker, hop.joinNS)
		hop.up.kubectl(t, "-n", ns, "create", "secret", "generic", hop.secret, "--from-file=kubeconfig="+kubeconfig)
		if err := install(ctx, h, hop.up, hop.r, "install"); err != nil {
			t.Fatal(err)
		}
		t.Logf("timing: join + helm install --wait of the broker pairs in %s: %s", hop.up.name, time.Since(t0).Round(time.Millisecond))
	}
	t.Logf("timing: whole federation installed with helm in %s", time.Since(start).Round(time.Millisecond))

	examples := "../../examples/federation.yaml"
	t.Run("examples reach Running at the root", func(t *testing.T) {
		created := time.Now()
		root.kubectl(t, "apply", "-f", examples)
		for _, w := range []string{"machine/web-0=Running", "volume/data-0=Available", "bucket/assets=Available"} {
			obj, state, _ := strings.Cut(w, "=")
			root.kubectl(t, "-n", "default", "wait", obj, "--for=jsonpath={.status.state}="+state, "--timeout=3m")
		}
		t.Logf("timing: Machine, Volume and Bucket Running/Available at the root %s after kubectl apply", time.Since(created).Round(time.Millisecond))
		out := leaf.kubectl(t, "-n", leafNS, "get", kinds, "-o", "name")
		for _, want := range []string{"machine.compute.ironcore.dev/", "volume.storage.ironcore.dev/", "networkinterface.networking.ironcore.dev/", "bucket.storage.ironcore.dev/"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %s in the leaf's %s:\n%s", want, leafNS, out)
			}
		}
	})

	t.Run("a console session crosses every level", func(t *testing.T) {
		ctrllog.SetLogger(logr.Discard()) // the client logs nothing the test needs
		scheme := runtime.NewScheme()
		if err := api.AddToScheme(scheme); err != nil {
			t.Fatal(err)
		}
		c, err := client.New(root.config, client.Options{Scheme: scheme})
		if err != nil {
			t.Fatal(err)
		}
		inR, inW := io.Pipe()
		out := &lockedBuffer{}
		done := make(chan error, 1)
		t0 := time.Now()
		// The chart's console servers use self-signed certificates (no console.tlsSecret): the
		// client skips verifying the root poollet, as the brokers do below it.
		insecure := rest.CopyConfig(root.config)
		insecure.Insecure, insecure.CAData, insecure.CAFile = true, nil, ""
		go func() {
			done <- console.Run(t.Context(), c, console.Options{Config: insecure, Machine: types.NamespacedName{Namespace: "default", Name: "web-0"}, Stdin: inR, Stdout: out})
		}()
		go func() { _, _ = io.WriteString(inW, "typed at the root\n") }()
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(out.String(), "typed at the root\nmemory:") {
			select {
			case err := <-done:
				t.Fatalf("console ended: %v; output %q", err, out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no echo from the leaf's memory provider after 1 min; output %q", out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("timing: console echo from the leaf %s after the session began", time.Since(t0).Round(time.Millisecond))
		_ = inW.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("console session: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the session did not end when its input ended")
		}
	})

	t.Run("a killed broker pod restarts without duplicates downstream", func(t *testing.T) {
		sel := "app.kubernetes.io/instance=region,app.kubernetes.io/component=machinebroker"
		old := strings.TrimSpace(root.kubectl(t, "-n", ns, "get", "pods", "-l", sel, "-o", "name"))
		killed := time.Now()
		root.kubectl(t, "-n", ns, "delete", "pod", "-l", sel, "--grace-period=0", "--force", "--wait=false")
		// Created while no broker runs: the new pod must bring it down exactly once.
		applyMachines(t, root, "killed", 2)
		waitNewReadyPod(t, root, sel, old)
		t.Logf("timing: new machine broker pod Ready %s after the kill", time.Since(killed).Round(time.Millisecond))
		waitRunning(t, root, "killed", 2)
		t.Logf("timing: Machines created during the kill Running %s after it", time.Since(killed).Round(time.Millisecond))
		sameCounts(t, root, region, leaf)
	})

	t.Run("helm upgrade of the control plane loses nothing in flight", func(t *testing.T) {
		applyMachines(t, root, "inflight", 5)
		t0 := time.Now()
		up := controlPlane
		up.set = append(append([]string{}, up.set...), "controllerManager.logLevel=debug")
		if err := install(ctx, h, root, up, "upgrade"); err != nil {
			t.Fatal(err)
		}
		t.Logf("timing: helm upgrade --wait of the root's control plane: %s", time.Since(t0).Round(time.Millisecond))
		waitRunning(t, root, "inflight", 5)
		t.Logf("timing: the 5 Machines created before the upgrade Running %s after it began", time.Since(t0).Round(time.Millisecond))
		sameCounts(t, root, region, leaf)
	})

	t.Run("deletion empties every level", func(t *testing.T) {
		deleted := time.Now()
		root.kubectl(t, "-n", "default", "delete", "machines,volumes,buckets", "--all", "--wait", "--timeout=3m")
		for _, lvl := range []struct {
			c  *cluster
			ns string
		}{{region, regionNS}, {leaf, leafNS}} {
			waitEmpty(t, lvl.c, lvl.ns)
		}
		t.Logf("timing: every level empty %s after the deletion", time.Since(deleted).Round(time.Millisecond))
	})

	t.Run("helm uninstall leaves nothing behind", func(t *testing.T) {
		// The workload releases of the three clusters at once, then the control planes.
		workloads := map[*cluster]release{root: regionBroker, region: leafBroker, leaf: leafRelease}
		parallel(t, cs, func(c *cluster) error { return uninstall(t, h, c, workloads[c]) })
		parallel(t, cs, func(c *cluster) error { return uninstall(t, h, c, controlPlane) })
		for _, c := range cs {
			if out := strings.TrimSpace(c.kubectl(t, "-n", ns, "get", "pods,deployments,replicasets", "-o", "name")); out != "" {
				t.Errorf("%s: left in %s after helm uninstall:\n%s", c.name, ns, out)
			}
		}
	})
}

// install runs helm install|upgrade --wait of r into c.
func install(ctx context.Context, h *framework.Helm, c *cluster, r release, verb string, extra ...string) error {
	args := append([]string{verb, r.name, filepath.Join(chartsDir, r.chart), "--namespace", ns, "--wait", "--timeout", "6m"}, extra...)
	for _, s := range r.set {
		args = append(args, "--set", s)
	}
	if _, err := h.WithKubeconfig(c.kubeconfig).Run(ctx, args...); err != nil {
		return fmt.Errorf("%w\n%s", err, c.describeRelease(r.name))
	}
	return nil
}

// describeRelease is what an operator would look at when helm --wait gives up on r: the nodes
// (conditions, taints), the release's workloads and pods, recent events and the last log lines
// of every container, the previous run's included.
func (c *cluster) describeRelease(name string) string {
	sel := "app.kubernetes.io/instance=" + name
	var b strings.Builder
	for _, args := range [][]string{
		{"get", "nodes", "-o", "custom-columns=NAME:.metadata.name,TAINTS:.spec.taints,CONDITIONS:.status.conditions[*].type,STATUS:.status.conditions[*].status"},
		{"-n", ns, "get", "deployments,replicasets,pods", "-o", "wide", "-l", sel},
		{"-n", ns, "describe", "pods", "-l", sel},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"-n", ns, "logs", "-l", sel, "--all-containers", "--prefix", "--tail=40"},
		{"-n", ns, "logs", "-l", sel, "--all-containers", "--prefix", "--tail=40", "--previous"},
	} {
		out, err := c.try(append(args, "--request-timeout=20s")...)
		fmt.Fprintf(&b, "--- kubectl %s (%v)\n%s\n", strings.Join(args, " "), err, lastLines(out, 60))
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// uninstall runs helm uninstall --wait of r and waits until no object labelled for the release is
// left (pods go after their ReplicaSets: garbage collection, then their grace period).
func uninstall(t *testing.T, h *framework.Helm, c *cluster, r release) error {
	t0 := time.Now()
	if _, err := h.WithKubeconfig(c.kubeconfig).Run(t.Context(), "uninstall", r.name, "--namespace", ns, "--wait", "--timeout", "3m"); err != nil {
		return err
	}
	t.Logf("timing: helm uninstall --wait %s in %s: %s", r.name, c.name, time.Since(t0).Round(time.Millisecond))
	sel := "app.kubernetes.io/instance=" + r.name + ",app.kubernetes.io/name=" + r.chart
	kinds := "pods,deployments,replicasets,serviceaccounts,configmaps,services,roles,rolebindings,clusterroles,clusterrolebindings,machineclasses,volumeclasses,bucketclasses,namespaces"
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := c.try("get", kinds, "-A", "-l", sel, "-o", "name")
		if err != nil {
			return err
		}
		if out = strings.TrimSpace(out); out == "" {
			t.Logf("timing: nothing of %s left in %s %s after helm uninstall began", r.name, c.name, time.Since(t0).Round(time.Millisecond))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("helm uninstall %s left after 90 s:\n%s", r.name, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// joinKubeconfig is what ironfed join writes for broker in down's namespace, with the server
// pods of the upper cluster reach.
func joinKubeconfig(t *testing.T, down *cluster, broker, namespace string) string {
	t.Helper()
	res, err := join.Join(t.Context(), down.config, join.Options{Name: broker, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	data := res.Kubeconfig
	if down.server != "" {
		cfg, err := clientcmd.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cfg.Clusters {
			c.Server = down.server
		}
		if data, err = clientcmd.Write(*cfg); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), broker+".kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// applyMachines creates n Machines <prefix>-<i> at c (class m-small, no volumes).
func applyMachines(t *testing.T, c *cluster, prefix string, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: compute.ironcore.dev/v1alpha1\nkind: Machine\nmetadata: {name: %s-%d, namespace: default}\nspec: {machineClassRef: {name: m-small}, power: \"On\"}\n", prefix, i)
	}
	path := filepath.Join(t.TempDir(), prefix+".yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c.kubectl(t, "apply", "-f", path)
}

func waitRunning(t *testing.T, c *cluster, prefix string, n int) {
	t.Helper()
	for i := range n {
		c.kubectl(t, "-n", "default", "wait", "machine/"+prefix+"-"+strconv.Itoa(i), "--for=jsonpath={.status.state}=Running", "--timeout=3m")
	}
}

// waitNewReadyPod waits until a pod matching sel other than old is Ready.
func waitNewReadyPod(t *testing.T, c *cluster, sel, old string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := c.try("-n", ns, "get", "pods", "-l", sel, "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err == nil {
			for _, line := range strings.Fields(out) {
				name, ready, _ := strings.Cut(line, "=")
				if "pod/"+name != old && ready == "True" {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new Ready pod for %s in %s after 3 min: %s %v", sel, c.name, out, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// sameCounts: every level holds exactly as many Machines as the root (no duplicate, none lost).
func sameCounts(t *testing.T, root, region, leaf *cluster) {
	t.Helper()
	count := func(c *cluster, namespace string) int {
		return len(strings.Fields(c.kubectl(t, "-n", namespace, "get", "machines", "-o", "name")))
	}
	want := count(root, "default")
	deadline := time.Now().Add(time.Minute)
	for {
		gotRegion, gotLeaf := count(region, regionNS), count(leaf, leafNS)
		if gotRegion == want && gotLeaf == want {
			t.Logf("%d Machines at every level", want)
			return
		}
		if time.Now().After(deadline) || gotRegion > want || gotLeaf > want {
			t.Fatalf("root has %d Machines, the region %d, the leaf %d", want, gotRegion, gotLeaf)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func waitEmpty(t *testing.T, c *cluster, namespace string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := strings.TrimSpace(c.kubectl(t, "-n", namespace, "get", kinds, "-o", "name"))
		if out == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds in %s 2 min after the root's deletion:\n%s", c.name, namespace, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// lockedBuffer is an io.Writer safe to read while the console writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
