// Package localfed brings up a chained ironfed federation on this machine: real control planes
// as local processes, one per cluster of a topology, and in this process each cluster's
// controller-manager, the poollet+broker pairs that join every cluster under its parent, and
// memory providers behind the leaves' poollets.
// `ironfed up` (make run) and the end-to-end suite share it.
package localfed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/federation/api/admission"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/federation/topology"
	"github.com/ironfed/ironfed/providers/memory"
)

// Options configure Up.
type Options struct {
	// Dir holds every cluster's state, logs and kubeconfig. Required.
	Dir string
	// Topology to build. Default: topology.Default() (root → region → leaf).
	Topology *topology.Topology
	// CRDs installed into every cluster.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// Provider configures the memory provider of every leaf. Default: memory.DefaultConfig().
	// Its classes are created in every cluster.
	Provider *memory.Config
	// LeafRuntimes, per kind ("machine", "volume", "bucket"), is the endpoint (unix://path) of a
	// real provider that the leaves' poollets of that kind use instead of the memory provider
	// (e.g. the Ceph providers). Its classes must exist under the same names in every cluster.
	LeafRuntimes map[string]string
	// Timing of poollets and brokers. Default: DefaultTiming().
	Timing *Timing
	// ReadyTimeout bounds the wait for the chain to announce its pools. Default 3 minutes.
	ReadyTimeout time.Duration
	// Progress receives human-readable progress lines. Default: io.Discard.
	Progress io.Writer
	// Log receives the components' logs. Default: controller-runtime's global logger.
	Log *logr.Logger
	// BinDir, when set, runs every component as its own process: the binaries in BinDir
	// (Binaries; hack/component-binaries.sh builds them) with the flags their Helm charts set
	// (args.go), supervised (restarted with backoff when they exit), each logging to
	// Dir/logs/<component>.log with its pid in Dir/pids/. Empty: every component runs in this
	// process (what the end-to-end tests use: they reach into Providers).
	BinDir string
	// LeafProcesses are real providers run as processes (process mode only) for the leaves'
	// poollets of the kinds they serve, instead of the memory provider (realleaf builds them).
	LeafProcesses []LeafProcess
}

// Timing is how fast the chain notices changes; a local federation wants it fast.
type Timing struct {
	// PoolStatusPeriod is how often a poollet re-reads its runtime's classes and capacity.
	PoolStatusPeriod time.Duration
	// HeartbeatInterval of the pools' Leases.
	HeartbeatInterval time.Duration
	// RelistThreshold is how long a runtime may fail before its pool turns Ready=Unknown.
	RelistThreshold time.Duration
	// DownstreamProbeInterval and DownstreamUnreachableThreshold tune the brokers' reachability probe.
	DownstreamProbeInterval, DownstreamUnreachableThreshold time.Duration
	// Breaker of the brokers toward their downstream.
	Breaker common.BreakerOptions
}

// DefaultTiming reacts within seconds.
func DefaultTiming() Timing {
	return Timing{
		PoolStatusPeriod:               2 * time.Second,
		HeartbeatInterval:              5 * time.Second,
		RelistThreshold:                10 * time.Second,
		DownstreamProbeInterval:        2 * time.Second,
		DownstreamUnreachableThreshold: 6 * time.Second,
		Breaker:                        common.BreakerOptions{ConsecutiveFailures: 5, OpenTimeout: 5 * time.Second, HalfOpenRequests: 1},
	}
}

// Federation is a running local federation.
type Federation struct {
	Dir      string
	Topology *topology.Topology
	// Clusters in topology order (root first).
	Clusters []*localcluster.Cluster
	// ControllerManagers holds the health/metrics addresses of each cluster's controller-manager.
	ControllerManagers []ComponentEndpoints
	// Providers are the in-process memory providers by leaf name (empty in process mode).
	Providers map[string]*memory.Provider
	// Joins holds, per non-root cluster, the namespace its parent's brokers write to.
	Joins map[string]string

	opts     Options
	clients  map[string]client.Client
	sockDir  string
	progress io.Writer
	log      logr.Logger

	mu       sync.Mutex
	stop     []func()
	restarts map[string]int
	procs    []*Process
}

// ComponentEndpoints are where an in-process component serves its probes and metrics.
type ComponentEndpoints struct {
	Cluster, Health, Metrics string
}

// Up starts the federation and returns once every pool of the chain is Ready at its parent.
func Up(ctx context.Context, opts Options) (*Federation, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("localfed: Options.Dir is required")
	}
	if opts.Topology == nil {
		opts.Topology = topology.Default()
	}
	if err := opts.Topology.Validate(); err != nil {
		return nil, fmt.Errorf("localfed: %w", err)
	}
	if opts.Provider == nil {
		c := memory.DefaultConfig()
		opts.Provider = &c
	}
	if opts.Timing == nil {
		t := DefaultTiming()
		opts.Timing = &t
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 3 * time.Minute
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.BinDir != "" {
		if err := CheckBinDir(opts.BinDir); err != nil {
			return nil, fmt.Errorf("localfed: %w", err)
		}
	}
	if err := checkLeafProcesses(opts); err != nil {
		return nil, fmt.Errorf("localfed: %w", err)
	}
	log := ctrl.Log
	if opts.Log != nil {
		log = *opts.Log
	}
	// Unix socket paths are limited to 108 bytes: keep them out of deep test directories.
	sockDir, err := os.MkdirTemp("", "ironfed-sock-")
	if err != nil {
		return nil, err
	}
	f := &Federation{
		Dir: opts.Dir, Topology: opts.Topology, Providers: map[string]*memory.Provider{}, Joins: map[string]string{},
		opts: opts, clients: map[string]client.Client{}, sockDir: sockDir, progress: opts.Progress, log: log,
	}
	f.onStop(func() { _ = os.RemoveAll(sockDir) })
	if err := f.up(ctx); err != nil {
		return nil, errors.Join(err, f.Down())
	}
	return f, nil
}

func (f *Federation) up(ctx context.Context) error {
	start := time.Now()
	ordered := f.Topology.Ordered()
	f.logf("starting %d cluster(s) in %s", len(ordered), f.Dir)
	copts := make([]localcluster.Options, len(ordered))
	for i, c := range ordered {
		copts[i] = localcluster.Options{Name: c.Name, Dir: filepath.Join(f.Dir, c.Name), CRDs: f.opts.CRDs}
		if len(f.opts.CRDs) > 0 {
			// IronCore's admission behaviour the CRDs cannot express (volume devices, size bounds).
			copts[i].Install = append(copts[i].Install, admission.Install)
		}
	}
	clusters, err := localcluster.StartMany(ctx, copts)
	if err != nil {
		return err
	}
	f.Clusters = clusters
	f.logf("%d cluster(s) serving after %s", len(clusters), time.Since(start).Round(100*time.Millisecond))
	for _, c := range clusters {
		// The admin client checks whole federations (tests poll every level for every object):
		// client-go's default 5 QPS would make one check take half a minute.
		admin := rest.CopyConfig(c.Config)
		admin.QPS, admin.Burst = 200, 400
		kube, err := client.New(admin, client.Options{Scheme: common.NewScheme()})
		if err != nil {
			return err
		}
		f.clients[c.Name] = kube
		if err := createClasses(ctx, kube, *f.opts.Provider); err != nil {
			return fmt.Errorf("classes in %s: %w", c.Name, err)
		}
		if err := f.startControllerManager(c); err != nil {
			return err
		}
	}
	if err := f.startLeafProcesses(); err != nil {
		return err
	}
	// Bottom-up, so each parent finds its child's pools announced soon after it starts.
	for i := len(ordered) - 1; i >= 0; i-- {
		c := ordered[i]
		if f.Topology.IsLeaf(c.Name) {
			if err := f.startLeaf(c); err != nil {
				return err
			}
		}
		if c.Parent != "" {
			if err := f.joinUnderParent(ctx, c); err != nil {
				return err
			}
		}
	}
	if err := f.waitForPools(ctx); err != nil {
		return err
	}
	f.logf("federation up in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// Cluster returns the running cluster named name, or nil.
func (f *Federation) Cluster(name string) *localcluster.Cluster {
	for _, c := range f.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Client returns an admin client of the cluster named name (scheme: federation API + core).
func (f *Federation) Client(name string) client.Client { return f.clients[name] }

// Config returns the admin rest.Config of the cluster named name.
func (f *Federation) Config(name string) *rest.Config {
	if c := f.Cluster(name); c != nil {
		return c.Config
	}
	return nil
}

// Down stops every component and process of the federation. State stays in Dir.
func (f *Federation) Down() error {
	f.mu.Lock()
	stop := f.stop
	f.stop = nil
	f.mu.Unlock()
	for i := len(stop) - 1; i >= 0; i-- {
		stop[i]()
	}
	var errs []error
	for i := len(f.Clusters) - 1; i >= 0; i-- {
		c := f.Clusters[i]
		f.logf("stopping cluster %s", c.Name)
		if err := c.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	f.Clusters = nil
	return errors.Join(errs...)
}

// PrintNextSteps tells a person how to use the running federation.
func (f *Federation) PrintNextSteps(w io.Writer, kubectl string) {
	if kubectl == "" {
		kubectl = "kubectl"
	}
	root := f.Topology.Root().Name
	fmt.Fprintln(w, "\nThe federation is running:")
	for _, c := range f.Topology.Ordered() {
		path := f.Topology.PathFromRoot(c.Name)
		role := "joined under " + c.Parent + " (namespace " + f.Joins[c.Name] + ")"
		if c.Parent == "" {
			role = "root"
		}
		if f.Topology.IsLeaf(c.Name) {
			var memoryKinds []string
			for _, k := range Kinds {
				if f.opts.LeafRuntimes[k] == "" {
					memoryKinds = append(memoryKinds, k)
				}
			}
			if len(memoryKinds) > 0 {
				role += ", memory provider for " + strings.Join(memoryKinds, ", ")
			}
			if len(f.opts.LeafRuntimes) > 0 {
				role += ", real providers for " + strings.Join(slices.Sorted(maps.Keys(f.opts.LeafRuntimes)), ", ")
			}
		}
		fmt.Fprintf(w, "  %-10s %s   # %s; path %v\n", c.Name, f.Cluster(c.Name).KubeconfigPath, role, path)
	}
	fmt.Fprintf(w, `
Try it (see docs/local-federation.md):
  export KUBECONFIG=%s
  %s apply -f examples/federation.yaml
  %s get machines,volumes,buckets -A -w      # until the Machine is Running
  %s get machinepools,volumepools,bucketpools   # one pool per child cluster
  ironfed console default/web-0                 # its console, from the root through every level (Ctrl-] detaches)
Each level holds a counterpart, labelled with the UID of the object above it:
  %s --kubeconfig %s get machines -A -L broker.ironfed.dev/uid

Press Ctrl-C to tear everything down.
`, f.Cluster(root).KubeconfigPath, kubectl, kubectl, kubectl, kubectl, f.Cluster(f.deepestLeaf()).KubeconfigPath)
}

func (f *Federation) deepestLeaf() string {
	best := f.Topology.Root().Name
	for _, c := range f.Topology.Clusters {
		if f.Topology.Depth(c.Name) > f.Topology.Depth(best) {
			best = c.Name
		}
	}
	return best
}

func (f *Federation) logf(format string, args ...any) {
	fmt.Fprintf(f.progress, "[ironfed %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (f *Federation) onStop(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stop = append(f.stop, fn)
}

// DefaultDir is where `ironfed up` keeps state unless told otherwise.
func DefaultDir() string {
	return filepath.Join(os.TempDir(), "ironfed-local")
}
