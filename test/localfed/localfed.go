// Package localfed brings up an ironfed federation on this machine: real control planes as local
// processes, each with ironfed's controller-manager (in this process); poollets, brokers and
// providers join as they land.
// `ironfed up` (make run) and the end-to-end suites share it.
package localfed

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/test/framework/cluster"
)

// Options configure Up.
type Options struct {
	// Dir holds every cluster's state, logs and kubeconfig. Required.
	Dir string
	// Clusters to start, in order from the root. Default: one cluster named "root".
	Clusters []string
	// CRDs installed into every cluster.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// Progress receives human-readable progress lines. Default: io.Discard.
	Progress io.Writer
}

// Federation is a running local federation.
type Federation struct {
	Dir      string
	Clusters []*cluster.Cluster
	// ControllerManagers holds the health/metrics addresses of each cluster's controller-manager.
	ControllerManagers []ComponentEndpoints
	progress           io.Writer
	stop               []func()
}

// ComponentEndpoints are where an in-process component serves its probes and metrics.
type ComponentEndpoints struct {
	Cluster, Health, Metrics string
}

// Up starts the federation and returns once every cluster serves its CRDs.
func Up(ctx context.Context, opts Options) (*Federation, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("localfed: Options.Dir is required")
	}
	if len(opts.Clusters) == 0 {
		opts.Clusters = []string{"root"}
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	f := &Federation{Dir: opts.Dir, progress: opts.Progress}
	f.logf("starting %d cluster(s) in %s", len(opts.Clusters), opts.Dir)
	copts := make([]cluster.Options, len(opts.Clusters))
	for i, name := range opts.Clusters {
		copts[i] = cluster.Options{Name: name, Dir: filepath.Join(opts.Dir, name), CRDs: opts.CRDs}
	}
	start := time.Now()
	clusters, err := cluster.StartMany(ctx, copts)
	if err != nil {
		return nil, err
	}
	f.Clusters = clusters
	for _, c := range clusters {
		f.logf("cluster %-8s ready at %s (%d CRDs)", c.Name, c.Host(), len(opts.CRDs))
		if err := f.startControllerManager(c); err != nil {
			_ = f.Down()
			return nil, err
		}
	}
	f.logf("federation up in %s", time.Since(start).Round(100*time.Millisecond))
	return f, nil
}

// Down stops every process of the federation. State stays in Dir.
func (f *Federation) Down() error {
	for i := len(f.stop) - 1; i >= 0; i-- {
		f.stop[i]()
	}
	f.stop = nil
	var firstErr error
	for i := len(f.Clusters) - 1; i >= 0; i-- {
		c := f.Clusters[i]
		f.logf("stopping cluster %s", c.Name)
		if err := c.Stop(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// PrintNextSteps tells a person how to use the running federation.
func (f *Federation) PrintNextSteps(w io.Writer, kubectl string) {
	fmt.Fprintln(w, "\nThe federation is running. Point kubectl at a cluster:")
	for _, c := range f.Clusters {
		fmt.Fprintf(w, "  export KUBECONFIG=%s   # %s\n", c.KubeconfigPath, c.Name)
	}
	if kubectl == "" {
		kubectl = "kubectl"
	}
	fmt.Fprintf(w, "\nThen for example:\n  %s get crds\n  %s apply -f examples/scheduling.yaml\n  %s get machinepools,machines -o wide\n", kubectl, kubectl, kubectl)
	fmt.Fprintln(w, "\nPress Ctrl-C to tear everything down.")
}

func (f *Federation) logf(format string, args ...any) {
	fmt.Fprintf(f.progress, "[ironfed %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// DefaultDir is where `ironfed up` keeps state unless told otherwise.
func DefaultDir() string {
	return filepath.Join(os.TempDir(), "ironfed-local")
}

// startControllerManager runs the cluster's schedulers and pool monitors in this process.
func (f *Federation) startControllerManager(c *cluster.Cluster) error {
	ports, err := freeLoopbackAddrs(2)
	if err != nil {
		return err
	}
	opts := controllermanager.DefaultOptions()
	opts.HealthProbeBindAddress, opts.MetricsBindAddress = ports[0], ports[1]
	opts.SkipControllerNameValidation = true // one manager per cluster in this process
	mgr, err := controllermanager.New(c.Config, opts)
	if err != nil {
		return fmt.Errorf("controller-manager for %s: %w", c.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			f.logf("controller-manager of %s stopped: %v", c.Name, err)
		}
	}()
	f.stop = append(f.stop, func() { cancel(); <-done })
	f.ControllerManagers = append(f.ControllerManagers, ComponentEndpoints{Cluster: c.Name, Health: ports[0], Metrics: ports[1]})
	f.logf("controller-manager for %-8s health http://%s/readyz, metrics http://%s/metrics", c.Name, ports[0], ports[1])
	return nil
}

func freeLoopbackAddrs(n int) ([]string, error) {
	var addrs []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
