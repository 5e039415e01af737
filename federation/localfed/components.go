package localfed

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/broker/bucketbroker"
	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
	"github.com/ironfed/ironfed/broker/volumebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/federation/join"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/federation/topology"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/bucketpoollet"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/poollet/volumepoollet"
	"github.com/ironfed/ironfed/providers/memory"
)

// Kinds are the resource kinds every level serves, each by a poollet (and a broker below it).
var Kinds = []string{"machine", "volume", "bucket"}

// JoinNamespace is the namespace of a child cluster that the brokers of its parent write to.
func JoinNamespace(parent string) string { return "ironfed-" + parent }

// LeafPoolName is the pool a leaf's poollets announce for its memory provider.
func LeafPoolName(leaf string) string { return leaf + "-memory" }

// managerComponent builds a controller-runtime manager per run: a manager starts only once.
func managerComponent(build func(ctx context.Context) (manager.Manager, error)) component {
	return func(ctx context.Context, ready func()) error {
		mgr, err := build(ctx)
		if err != nil {
			return err
		}
		// Managers have no ready hook; their caches sync in the background and their
		// consumers wait for them (the pools announced up the chain are the real check).
		ready()
		return mgr.Start(ctx)
	}
}

// startControllerManager runs the cluster's schedulers and pool monitors in this process.
func (f *Federation) startControllerManager(c *localcluster.Cluster) error {
	if f.processMode() {
		return f.startControllerManagerProcess(c)
	}
	ports, err := freeLoopbackAddrs(2)
	if err != nil {
		return err
	}
	opts := controllermanager.DefaultOptions()
	opts.HealthProbeBindAddress, opts.MetricsBindAddress = ports[0], ports[1]
	opts.SkipControllerNameValidation = true // one manager per cluster in this process
	// One supervised instance per cluster: no standby to hand over to. With election on, an
	// apiserver outage longer than the renew deadline makes it exit, and its successor waits
	// for the dead holder's lease to expire.
	opts.LeaderElect = false
	err = f.supervise("controller-manager of "+c.Name, time.Minute, managerComponent(func(context.Context) (manager.Manager, error) {
		return controllermanager.New(c.Config, opts)
	}))
	if err != nil {
		return err
	}
	f.ControllerManagers = append(f.ControllerManagers, ComponentEndpoints{Cluster: c.Name, Health: ports[0], Metrics: ports[1]})
	f.logf("controller-manager  %-8s health http://%s/readyz, metrics http://%s/metrics", c.Name, ports[0], ports[1])
	return nil
}

// startLeaf serves a memory provider on a unix socket and runs the leaf's poollets on it.
func (f *Federation) startLeaf(c topology.Cluster) error {
	if f.processMode() {
		return f.startLeafProcess(c)
	}
	execLis, err := net.Listen("tcp", "127.0.0.1:0") // its console URLs (Exec)
	if err != nil {
		return err
	}
	pcfg := *f.opts.Provider
	if pcfg.ExecBaseURL == "" {
		pcfg.ExecBaseURL = "http://" + execLis.Addr().String()
	}
	p, err := memory.New(pcfg)
	if err != nil {
		_ = execLis.Close()
		return fmt.Errorf("memory provider of %s: %w", c.Name, err)
	}
	execSrv := &http.Server{Handler: p.ExecHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = execSrv.Serve(execLis) }()
	f.onStop(func() { _ = execSrv.Close() })
	f.Providers[c.Name] = p
	socket := filepath.Join(f.sockDir, c.Name+"-memory.sock")
	srv, err := remote.NewServer(remote.ServeOptions{
		SocketPath: socket, Logger: f.log.WithName("memory-provider").WithValues("cluster", c.Name),
		Register:        p.Register,
		ShutdownTimeout: time.Second,
	})
	if err != nil {
		p.Close()
		return err
	}
	f.onStop(p.Close) // runs after the server stopped: Down stops in reverse
	if err := f.supervise("memory provider of "+c.Name, time.Minute, func(ctx context.Context, ready func()) error {
		ready()
		return srv.Serve(ctx)
	}); err != nil {
		return err
	}
	f.logf("memory provider     %-8s unix://%s", c.Name, socket)
	return f.startPoollets(c.Name, LeafPoolName(c.Name), "memory://"+c.Name, nil, func(kind string) string {
		if ep := f.opts.LeafRuntimes[kind]; ep != "" {
			return trimUnix(ep)
		}
		return socket
	})
}

// joinUnderParent joins cluster c under its parent: an identity limited to one namespace of c
// for the parent's brokers, the brokers, and the parent's poollets that announce c as a pool
// of each kind.
func (f *Federation) joinUnderParent(ctx context.Context, c topology.Cluster) error {
	ns := JoinNamespace(c.Parent)
	res, err := join.Join(ctx, f.Config(c.Name), join.Options{Name: "ironfed-broker-" + c.Parent, Namespace: ns})
	if err != nil {
		return fmt.Errorf("join %s under %s: %w", c.Name, c.Parent, err)
	}
	f.Joins[c.Name] = ns
	f.logf("joined %-8s under %-8s brokers act as %s in namespace %s", c.Name, c.Parent, res.ServiceAccount, ns)
	sockets := map[string]string{}
	for _, kind := range Kinds {
		sockets[kind] = f.BrokerSocket(c.Parent, c.Name, kind)
		if err := f.startBroker(c, kind, res, ns, sockets[kind]); err != nil {
			return err
		}
	}
	return f.startPoollets(c.Parent, c.Name, "ironfed://"+c.Name, c.PoolLabels, func(kind string) string { return sockets[kind] })
}

func (f *Federation) startBroker(c topology.Cluster, kind string, res *join.Result, ns, socket string) error {
	if f.processMode() {
		if err := f.startBrokerProcess(c, kind, res.Kubeconfig, ns, socket); err != nil {
			return err
		}
		f.logf("%-19s %-8s → %-8s unix://%s", kind+"broker", c.Parent, c.Name, socket)
		return nil
	}
	cfg := res.Config
	t := f.opts.Timing
	o := common.DefaultOptions(kind)
	o.Namespace, o.Address, o.DownstreamName = ns, socket, c.Name
	o.Console.BindAddress = "127.0.0.1:0" // machine consoles (only the machine broker serves them)
	o.MetricsBindAddress, o.HealthProbeBindAddress = "0", "0"
	o.Breaker = t.Breaker
	o.ProbeInterval, o.UnreachableThreshold = t.DownstreamProbeInterval, t.DownstreamUnreachableThreshold
	run := map[string]common.RunFunc{"machine": machinebroker.Run, "volume": volumebroker.Run, "bucket": bucketbroker.Run}[kind]
	log := f.log.WithName(kind+"broker").WithValues("from", c.Parent, "to", c.Name)
	if err := f.supervise(fmt.Sprintf("%sbroker %s→%s", kind, c.Parent, c.Name), time.Minute, func(ctx context.Context, ready func()) error {
		return run(ctx, cfg, o, log, ready)
	}); err != nil {
		return err
	}
	f.logf("%-19s %-8s → %-8s unix://%s", kind+"broker", c.Parent, c.Name, socket)
	return nil
}

// startPoollets runs the machine, volume and bucket poollets of cluster in, announcing pool.
func (f *Federation) startPoollets(in, pool, providerID string, labels map[string]string, socket func(kind string) string) error {
	t := f.opts.Timing
	cfg := f.Config(in)
	cert, key, err := f.consoleCert(in)
	if err != nil {
		return err
	}
	for _, kind := range Kinds {
		if f.processMode() {
			// The leaf chart runs its poollets without leader election, the broker chart with it.
			if err := f.startPoolletProcess(in, kind, pool, providerID+"/"+kind, labels, socket(kind), !f.Topology.IsLeaf(in) || pool != LeafPoolName(in)); err != nil {
				return err
			}
			continue
		}
		o := core.DefaultOptions()
		o.Pool.Name, o.Pool.ProviderID, o.Pool.Labels = pool, providerID+"/"+kind, labels
		o.Pool.StatusPeriod, o.Pool.HeartbeatInterval = t.PoolStatusPeriod, t.HeartbeatInterval
		o.Runtime.Endpoint = "unix://" + socket(kind)
		o.Runtime.RelistThreshold = t.RelistThreshold
		o.Manager.MetricsBindAddress, o.Manager.HealthProbeBindAddress = "0", "0"
		o.Manager.SkipControllerNameValidation = true
		log := f.log.WithName(kind+"poollet").WithValues("cluster", in, "pool", pool)
		o.Manager.Logger = &log
		build := func(ctx context.Context) (manager.Manager, error) {
			switch kind {
			case "machine":
				return machinepoollet.NewWithConsole(ctx, cfg, o, machinepoollet.ConsoleOptions{BindAddress: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: key})
			case "volume":
				return volumepoollet.New(ctx, cfg, o)
			}
			bo := bucketpoollet.DefaultOptions()
			bo.Options = o
			return bucketpoollet.New(ctx, cfg, bo)
		}
		if err := f.supervise(fmt.Sprintf("%spoollet %s/%s", kind, in, pool), time.Minute, managerComponent(build)); err != nil {
			return err
		}
	}
	f.logf("poollets            %-8s pool %s (machine, volume, bucket)", in, pool)
	return nil
}

// createClasses makes the provider's classes known in a cluster: a pool only announces classes
// that exist where it is announced.
func createClasses(ctx context.Context, kube client.Client, cfg memory.Config) error {
	var objs []client.Object
	for _, c := range cfg.MachineClasses {
		objs = append(objs, &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: c.Name}, Capabilities: commonv1alpha1.ResourceList{
			commonv1alpha1.ResourceCPU:    *resource.NewQuantity(c.CPU, resource.DecimalSI),
			commonv1alpha1.ResourceMemory: *resource.NewQuantity(c.MemoryBytes, resource.BinarySI),
		}})
	}
	for _, c := range cfg.VolumeClasses {
		objs = append(objs, &storagev1alpha1.VolumeClass{ObjectMeta: metav1.ObjectMeta{Name: c.Name}, Capabilities: commonv1alpha1.ResourceList{
			commonv1alpha1.ResourceTPS:  *resource.NewQuantity(c.TPS, resource.BinarySI),
			commonv1alpha1.ResourceIOPS: *resource.NewQuantity(c.IOPS, resource.DecimalSI),
		}})
	}
	for _, c := range cfg.BucketClasses {
		objs = append(objs, &storagev1alpha1.BucketClass{ObjectMeta: metav1.ObjectMeta{Name: c.Name}, Capabilities: commonv1alpha1.ResourceList{
			commonv1alpha1.ResourceTPS:  *resource.NewQuantity(c.TPS, resource.BinarySI),
			commonv1alpha1.ResourceIOPS: *resource.NewQuantity(c.IOPS, resource.DecimalSI),
		}})
	}
	for _, o := range objs {
		if err := client.IgnoreAlreadyExists(kube.Create(ctx, o)); err != nil {
			return err
		}
	}
	return nil
}

func freeLoopbackAddrs(n int) ([]string, error) {
	ports, err := localcluster.FreePorts(n)
	addrs := make([]string, len(ports))
	for i, p := range ports {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	return addrs, err
}

// consoleCert returns the files of the console serving certificate of cluster's machinepoollets,
// issued by the cluster's CA: whoever trusts the cluster's kubeconfig (a broker above, ironfed
// console) verifies it without further configuration.
func (f *Federation) consoleCert(cluster string) (certFile, keyFile string, err error) {
	dir := filepath.Join(f.Dir, "components")
	certFile, keyFile = filepath.Join(dir, cluster+"-console.crt"), filepath.Join(dir, cluster+"-console.key")
	if _, err := os.Stat(keyFile); err == nil {
		return certFile, keyFile, nil
	}
	c := f.Cluster(cluster)
	if c == nil {
		return "", "", fmt.Errorf("no cluster %s", cluster)
	}
	cert, key, err := c.ServingCert("machinepoollet." + cluster)
	if err != nil {
		return "", "", fmt.Errorf("console certificate of %s: %w", cluster, err)
	}
	if _, err := f.componentFile(cluster+"-console.crt", cert, 0o644); err != nil {
		return "", "", err
	}
	if _, err := f.componentFile(cluster+"-console.key", key, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

func trimUnix(endpoint string) string { return strings.TrimPrefix(endpoint, "unix://") }
