package localfed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/federation/topology"
)

// processMode says whether components run as their own binaries (Options.BinDir).
func (f *Federation) processMode() bool { return f.opts.BinDir != "" }

// componentFile is a file process mode hands a component (config, kubeconfig).
func (f *Federation) componentFile(name string, data []byte, mode os.FileMode) (string, error) {
	dir := filepath.Join(f.Dir, "components")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, data, mode)
}

// ensureReleaseNamespace creates the namespace the charts are installed into (leader election
// Leases live there).
func ensureReleaseNamespace(ctx context.Context, kube client.Client) error {
	return client.IgnoreAlreadyExists(kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ReleaseNamespace}}))
}

func (f *Federation) startControllerManagerProcess(c *localcluster.Cluster) error {
	if err := ensureReleaseNamespace(context.Background(), f.clients[c.Name]); err != nil {
		return fmt.Errorf("namespace %s in %s: %w", ReleaseNamespace, c.Name, err)
	}
	ports, err := freeLoopbackAddrs(2)
	if err != nil {
		return err
	}
	if err := f.startProcess(&Process{Name: "controller-manager " + c.Name, Chart: "ironfed-control-plane", Binary: "ironfed-controller-manager",
		Args: controllerManagerArgs(c.KubeconfigPath, ports[1], ports[0]), Health: ports[0]}); err != nil {
		return err
	}
	f.ControllerManagers = append(f.ControllerManagers, ComponentEndpoints{Cluster: c.Name, Health: ports[0], Metrics: ports[1]})
	f.logf("controller-manager  %-8s health http://%s/readyz, metrics http://%s/metrics", c.Name, ports[0], ports[1])
	return nil
}

// startLeafProcess runs the leaf's memory provider (for the kinds no real provider serves) as
// charts/ironfed-leaf does, and the leaf's poollets on its sockets.
func (f *Federation) startLeafProcess(c topology.Cluster) error {
	var kinds []string
	for _, k := range Kinds {
		if f.opts.LeafRuntimes[k] == "" {
			kinds = append(kinds, k)
		}
	}
	sockDir := filepath.Join(f.sockDir, c.Name)
	if len(kinds) > 0 {
		if err := os.MkdirAll(sockDir, 0o755); err != nil {
			return err
		}
		ports, err := freeLoopbackAddrs(3)
		if err != nil {
			return err
		}
		data, err := yaml.Marshal(*f.opts.Provider)
		if err != nil {
			return err
		}
		config, err := f.componentFile(c.Name+"-memory-provider.yaml", data, 0o644)
		if err != nil {
			return err
		}
		if err := f.startProcess(&Process{Name: "memory-provider " + c.Name, Chart: "ironfed-leaf", Binary: "memory-provider",
			Args: memoryProviderArgs(sockDir, kinds, config, ports[1], ports[0], ports[2]), Health: ports[0]}); err != nil {
			return err
		}
		f.logf("memory provider     %-8s %s (%v)", c.Name, sockDir, kinds)
	}
	return f.startPoollets(c.Name, LeafPoolName(c.Name), "memory://"+c.Name, nil, func(kind string) string {
		if slices.Contains(kinds, kind) {
			return filepath.Join(sockDir, "iri-"+kind+"provider.sock")
		}
		return trimUnix(f.opts.LeafRuntimes[kind])
	})
}

func (f *Federation) startBrokerProcess(c topology.Cluster, kind string, kubeconfig []byte, ns, socket string) error {
	path, err := f.componentFile(fmt.Sprintf("%s-%s-downstream.kubeconfig", c.Parent, c.Name), kubeconfig, 0o600)
	if err != nil {
		return err
	}
	ports, err := freeLoopbackAddrs(3)
	if err != nil {
		return err
	}
	s := brokerSpec{kind: kind, kubeconfig: path, namespace: ns, downstream: c.Name, socket: socket,
		metrics: ports[1], health: ports[0], timing: *f.opts.Timing}
	if kind == "machine" {
		s.exec = ports[2]
	}
	return f.startProcess(&Process{Name: fmt.Sprintf("%sbroker %s→%s", kind, c.Parent, c.Name), Chart: "ironfed-broker", Binary: kind + "broker",
		Args: brokerArgs(s), Health: ports[0]})
}

func (f *Federation) startPoolletProcess(in, kind, pool, providerID string, labels map[string]string, socket string, elect bool) error {
	ports, err := freeLoopbackAddrs(3)
	if err != nil {
		return err
	}
	s := poolletSpec{kind: kind, pool: pool, providerID: providerID, endpoint: "unix://" + socket, labels: labels, elect: elect,
		kubeconfig: f.Cluster(in).KubeconfigPath, metrics: ports[1], health: ports[0], timing: *f.opts.Timing}
	if kind == "machine" {
		cert, key, err := f.consoleCert(in)
		if err != nil {
			return err
		}
		s.consoleBind, s.consoleCert, s.consoleKey = ports[2], cert, key
	}
	chart := "ironfed-broker"
	if !elect {
		chart = "ironfed-leaf"
	}
	return f.startProcess(&Process{Name: fmt.Sprintf("%spoollet %s/%s", kind, in, pool), Chart: chart, Binary: kind + "poollet",
		Args: poolletArgs(s), Health: ports[0]})
}
