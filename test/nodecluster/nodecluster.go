// Package nodecluster runs Kubernetes clusters with a real node each, as plain processes on this
// host: a network namespace with a veth to a host bridge, containerd with its own config, kubelet,
// kube-proxy and kube-scheduler, beside a localcluster control plane (etcd, kube-apiserver,
// kube-controller-manager with every controller). Images come from docker-archive tarballs
// (ctr images import), so no registry is needed. Tests install Helm charts onto these clusters.
//
// It needs root (netns, cgroups, mounts), Debian's containerd, runc and CNI plugins, and the node
// binaries hack/nodes-binaries.sh builds. Teardown leaves no process, mount, netns, veth, bridge
// or cgroup behind.
package nodecluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/ironfed/ironfed/federation/localcluster"
)

// BinariesEnv names the directory with kubelet, kube-proxy and kube-scheduler (make test sets it
// from hack/nodes-binaries.sh --print).
const BinariesEnv = "IRONFED_NODE_BINARIES"

// Binaries of a node. containerd and ctr come from the host (Debian's containerd).
type Binaries struct {
	Kubelet, KubeProxy, KubeScheduler string
	Containerd, Ctr                   string
	// CNIBinDir holds the bridge, host-local and portmap plugins.
	CNIBinDir string
}

// FindBinaries locates the node binaries: $IRONFED_NODE_BINARIES, containerd and ctr on $PATH,
// the CNI plugins in /usr/lib/cni. Every missing piece is named with how to get it.
func FindBinaries() (Binaries, error) {
	var missing []string
	dir := os.Getenv(BinariesEnv)
	if dir == "" {
		missing = append(missing, "$"+BinariesEnv+" (make node-binaries; hack/nodes-binaries.sh --print)")
	}
	b := Binaries{
		Kubelet: filepath.Join(dir, "kubelet"), KubeProxy: filepath.Join(dir, "kube-proxy"),
		KubeScheduler: filepath.Join(dir, "kube-scheduler"), CNIBinDir: "/usr/lib/cni",
	}
	if dir != "" {
		for _, p := range []string{b.Kubelet, b.KubeProxy, b.KubeScheduler} {
			if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
				missing = append(missing, p+" (make node-binaries)")
			}
		}
	}
	for _, tool := range []struct {
		name string
		dst  *string
	}{{"containerd", &b.Containerd}, {"ctr", &b.Ctr}, {"runc", new(string)}, {"nsenter", new(string)}, {"iptables", new(string)}} {
		p, err := exec.LookPath(tool.name)
		if err != nil {
			missing = append(missing, tool.name+" (make node-prereqs: apt containerd runc iptables)")
		}
		*tool.dst = p
	}
	if _, err := os.Stat(filepath.Join(b.CNIBinDir, "bridge")); err != nil {
		missing = append(missing, b.CNIBinDir+"/bridge (make node-prereqs: apt containernetworking-plugins)")
	}
	if len(missing) > 0 {
		return Binaries{}, fmt.Errorf("node clusters need: %s", strings.Join(missing, ", "))
	}
	return b, nil
}

// Options configure a set of node clusters.
type Options struct {
	// Names of the clusters (and of their one node each).
	Names []string
	// Dir holds every cluster's state; keep it short (unix socket paths live there). The caller
	// removes it after Stop.
	Dir string
	// CRDs installed into every cluster before its controller-manager starts.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// Images are docker-archive tarballs imported into every node's containerd.
	Images []string
	// PauseImage is the sandbox image's name (it must be among Images).
	PauseImage string
	// BridgeUp, if set, is called with the host bridge's address (the apiserver's, which pods
	// reach) as soon as it exists, before the nodes start: host daemons for pods can bind it
	// while the nodes come up.
	BridgeUp func(address string)
	// Binaries default to FindBinaries().
	Binaries *Binaries
	// Logf reports progress and timings; nil is silent.
	Logf func(format string, args ...any)
}

// Set is a running set of node clusters on one host bridge.
type Set struct {
	Nodes  []*Node
	bridge string
	logf   func(string, ...any)
}

// Node is one cluster and its node.
type Node struct {
	// Name of the cluster and of its node.
	Name string
	// IP of the node (its netns's eth0); the apiserver is at the bridge's address.
	IP string
	// PodCIDR is the node's pod range, 10.<200+N>.<i>.0/24 for bridge N and node i: unique on the
	// host, routed from the host and from the other nodes, so pods of one cluster (and tests) reach
	// pod IPs of another (consoles advertise pod IPs).
	PodCIDR string
	// NetNS is the path of the node's network namespace.
	NetNS            string
	ContainerdSocket string
	Cluster          *localcluster.Cluster

	Containerd, Kubelet, KubeProxy, Scheduler *localcluster.Component

	dir, netnsName, cgroupRoot, pauseImage, cniBinDir string
	bins                                              Binaries
}

// Start creates the bridge and every cluster with its node in parallel, imports the images and
// returns when every node is Ready. On error everything made so far is torn down.
func Start(ctx context.Context, opts Options) (*Set, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("node clusters need root (network namespaces, cgroups, mounts)")
	}
	bins := opts.Binaries
	if bins == nil {
		b, err := FindBinaries()
		if err != nil {
			return nil, err
		}
		bins = &b
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bridge, n, err := addBridge()
	if err != nil {
		return nil, err
	}
	s := &Set{bridge: bridge, logf: logf}
	apiAddress := fmt.Sprintf("10.250.%d.1", n)
	if opts.BridgeUp != nil {
		opts.BridgeUp(apiAddress)
	}
	for i, name := range opts.Names {
		s.Nodes = append(s.Nodes, &Node{
			Name:             name,
			IP:               fmt.Sprintf("10.250.%d.%d", n, 10+i),
			PodCIDR:          fmt.Sprintf("10.%d.%d.0/24", 200+n, i),
			netnsName:        fmt.Sprintf("ifn%d-%s", n, name),
			NetNS:            fmt.Sprintf("/run/netns/ifn%d-%s", n, name),
			cgroupRoot:       fmt.Sprintf("ifn%d-%s", n, name),
			dir:              filepath.Join(opts.Dir, name),
			ContainerdSocket: filepath.Join(opts.Dir, name, "containerd.sock"),
			pauseImage:       opts.PauseImage,
			cniBinDir:        bins.CNIBinDir,
			bins:             *bins,
		})
	}
	errs := make([]error, len(s.Nodes))
	var wg sync.WaitGroup
	for i, node := range s.Nodes {
		wg.Go(func() {
			errs[i] = node.start(ctx, i, bridge, apiAddress, opts, logf)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("node cluster %s: %w", node.Name, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	// Pod ranges routed through their nodes, from the host and from every other node.
	for _, to := range s.Nodes {
		if err := run("ip", "route", "add", to.PodCIDR, "via", to.IP); err != nil {
			return nil, errors.Join(err, s.Stop())
		}
		for _, from := range s.Nodes {
			if from != to {
				if err := inNetns(from.NetNS, "ip", "route", "add", to.PodCIDR, "via", to.IP); err != nil {
					return nil, errors.Join(err, s.Stop())
				}
			}
		}
	}
	return s, nil
}

func (n *Node) start(ctx context.Context, i int, bridge, apiAddress string, opts Options, logf func(string, ...any)) error {
	begin := time.Now()
	if err := addNetns(n.netnsName, bridge, fmt.Sprintf("%sv%d", bridge, i), n.IP); err != nil {
		return err
	}
	if err := makeCgroupRoot(n.cgroupRoot); err != nil {
		return err
	}
	cpDir := filepath.Join(n.dir, "cp")
	cert, key := localcluster.AdminCertFiles(cpDir)
	c, err := localcluster.Start(ctx, localcluster.Options{
		Name: n.Name, Dir: cpDir, CRDs: opts.CRDs, Address: apiAddress,
		ServingIPs: []net.IP{net.ParseIP(ServiceIP)},
		APIServerFlags: []string{
			// Repeats of this flag append: the cluster's RBAC plus the Node authorizer.
			"--authorization-mode=Node",
			"--enable-admission-plugins=NodeRestriction",
			"--kubelet-client-certificate=" + cert,
			"--kubelet-client-key=" + key,
			// Without it kubectl logs and exec resolve the node's name by DNS and fail.
			"--kubelet-preferred-address-types=InternalIP",
		},
		// Deployments, ReplicaSets, node lifecycle: everything a kubelet's pods need.
		ControllerManagerFlags: []string{"--controllers=*"},
	})
	if err != nil {
		return err
	}
	n.Cluster = c
	logf("%s: control plane at %s up in %s", n.Name, c.Host(), time.Since(begin).Round(time.Millisecond))

	if err := n.startContainerd(ctx); err != nil {
		return err
	}
	t := time.Now()
	if err := n.importImages(ctx, opts.Images); err != nil {
		return err
	}
	logf("%s: %d images imported in %s", n.Name, len(opts.Images), time.Since(t).Round(time.Millisecond))
	if err := n.startKubelet(ctx); err != nil {
		return err
	}
	if err := n.startKubeProxyAndScheduler(ctx); err != nil {
		return err
	}
	logf("%s: node %s Ready, cluster with its node up in %s", n.Name, n.IP, time.Since(begin).Round(time.Millisecond))
	return nil
}

// nsProcess is a component run inside the node's netns.
func (n *Node) nsProcess(name, bin string, args []string, ready func(context.Context) error) *localcluster.Component {
	argv := append([]string{"--net=" + n.NetNS, "--", bin}, args...)
	return localcluster.NewComponent(name, "nsenter", argv, filepath.Join(n.dir, "logs", name+".log"), 2*time.Minute, ready)
}

func (n *Node) startContainerd(ctx context.Context) error {
	cfg := filepath.Join(n.dir, "containerd", "config.toml")
	if err := writeFiles(map[string]string{
		cfg: n.containerdConfig(),
		filepath.Join(n.dir, "cni", "net.d", "10-ironfed.conflist"): n.cniConfig(),
		filepath.Join(n.dir, "logs", ".keep"):                       "",
	}); err != nil {
		return err
	}
	n.Containerd = n.nsProcess("containerd", n.bins.Containerd, []string{"--config", cfg}, func(ctx context.Context) error {
		conn, err := (&net.Dialer{}).DialContext(ctx, "unix", n.ContainerdSocket)
		if err == nil {
			conn.Close()
		}
		return err
	})
	return n.Containerd.Start(ctx)
}

// ctr runs ctr against the node's containerd in the CRI namespace.
func (n *Node) ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, n.bins.Ctr, append([]string{"-a", n.ContainerdSocket, "-n", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// importImages loads docker-archive tarballs, as kind load image-archive does.
func (n *Node) importImages(ctx context.Context, tars []string) error {
	for _, tar := range tars {
		if _, err := n.ctr(ctx, "images", "import", tar); err != nil {
			return err
		}
	}
	return nil
}
