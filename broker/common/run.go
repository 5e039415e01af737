package common

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/iri/remote"
)

// RunOptions wire one broker kind into a process.
type RunOptions struct {
	Options
	// Name is the broker's name: the default name of its Lease.
	Name       string
	Log        logr.Logger
	Config     *rest.Config
	Downstream *Downstream
	// Setup registers indexes and handlers on the cache before it starts.
	Setup func(ctx context.Context) error
	// Register adds the IRI service to the gRPC server.
	Register func(*grpc.Server)
	// OnReady is called once the broker serves (tests use it).
	OnReady func()
	// Servers run on every replica beside the gRPC server.
	Servers []func(ctx context.Context) error
	// Sweepers remove incomplete leftovers of crashed creates every
	// IncompleteSweepInterval once the cache has synced; only the leader.
	Sweepers []Sweeper
}

// runnable is a manager.Runnable that says whether it needs leadership.
type runnable struct {
	fn     func(ctx context.Context) error
	leader bool
}

func (r runnable) Start(ctx context.Context) error { return r.fn(ctx) }
func (r runnable) NeedLeaderElection() bool        { return r.leader }

// Run serves one broker kind until ctx ends, as runnables of a
// controller-runtime manager (which serves /metrics, /healthz and /readyz):
// the downstream cache, the reachability probes and the gRPC server run on
// every replica, so a standby serves reads from its warm cache and is ready;
// writes and the sweeper need the Lease (--leader-elect), and a standby
// answers writes with Unavailable. The gRPC health service reports SERVING
// once the cache has synced and while the downstream is reachable; /readyz
// passes once the cache has synced.
func Run(ctx context.Context, o RunOptions) error {
	var ready atomic.Bool
	mopts, err := o.managerOptions()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(o.Config, mopts)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if err := o.Setup(ctx); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("downstream-cache", func(*http.Request) error {
		if !ready.Load() {
			return errors.New("downstream cache not synced")
		}
		return nil
	}); err != nil {
		return err
	}
	d := o.Downstream
	d.leading.Store(!o.LeaderElect)
	d.standby = fmt.Sprintf("%s is a standby replica: another replica holds the Lease %s/%s and makes the writes of this namespace; retry (the leader, or this replica once it takes over, serves it)",
		o.Name, o.leaseNamespace(), o.leaseName())
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	// gRPC health is SERVING when synced and the downstream is reachable;
	// /readyz stays tied to the sync (restarting the broker fixes nothing).
	var healthMu sync.Mutex
	reachable := true
	setHealth := func() {
		if ready.Load() && reachable {
			hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		} else {
			hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
		}
	}
	d.OnReachableChange(func(r bool) {
		healthMu.Lock()
		defer healthMu.Unlock()
		reachable = r
		setHealth()
	})
	if err := remote.RegisterMetrics(ctrlmetrics.Registry); err != nil {
		return err
	}
	server, err := remote.NewServer(remote.ServeOptions{
		SocketPath: o.Address, SocketMode: o.SocketMode, Logger: o.Log, Metrics: true,
		Register: func(s *grpc.Server) {
			healthpb.RegisterHealthServer(s, hs)
			o.Register(s)
		},
	})
	if err != nil {
		return err
	}
	serve := func(ctx context.Context) error {
		if !d.Cache.WaitForCacheSync(ctx) {
			_ = server.Serve(ctx) // ctx is done: only cleans up the socket
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("downstream cache of %s did not sync", d.Host)
		}
		healthMu.Lock()
		ready.Store(true)
		setHealth()
		healthMu.Unlock()
		o.Log.Info("Downstream cache synced; serving", "downstream", d.Host, "address", server.Path(), "leaderElection", o.LeaderElect)
		if o.OnReady != nil {
			o.OnReady()
		}
		return server.Serve(ctx)
	}
	lead := func(ctx context.Context) error {
		d.leading.Store(true)
		defer d.leading.Store(false)
		if o.LeaderElect {
			o.Log.Info("Leading: this replica makes the writes", "lease", o.leaseNamespace()+"/"+o.leaseName())
		}
		if d.Cache.WaitForCacheSync(ctx) {
			o.sweepLoop(ctx, o.Sweepers)
		}
		<-ctx.Done()
		return nil
	}
	runnables := []runnable{
		{fn: d.Cache.Start},
		{fn: func(ctx context.Context) error { d.RunProbes(ctx); return nil }},
		{fn: serve},
		{fn: lead, leader: true},
	}
	for _, fn := range o.Servers {
		runnables = append(runnables, runnable{fn: fn})
	}
	for _, r := range runnables {
		if err := mgr.Add(r); err != nil {
			return err
		}
	}
	return mgr.Start(ctx)
}

func (o RunOptions) leaseName() string {
	if o.LeaderElectResourceName != "" {
		return o.LeaderElectResourceName
	}
	return o.Name
}

func (o RunOptions) leaseNamespace() string {
	if o.LeaderElectResourceNamespace != "" {
		return o.LeaderElectResourceNamespace
	}
	return o.Namespace
}

// managerOptions: the manager's own cache and client are unused (the
// Downstream has its own); its cache is limited to the broker's namespace.
func (o RunOptions) managerOptions() (manager.Options, error) {
	lease, renew, retry := o.LeaderElectLeaseDuration, o.LeaderElectRenewDeadline, o.LeaderElectRetryPeriod
	off := func(addr string) string {
		if addr == "" {
			return "0" // empty disables, as before the manager served them
		}
		return addr
	}
	metrics, err := o.metricsServerOptions(off(o.MetricsBindAddress))
	if err != nil {
		return manager.Options{}, err
	}
	return manager.Options{
		Scheme:                        NewScheme(),
		Logger:                        o.Log,
		Metrics:                       metrics,
		HealthProbeBindAddress:        off(o.HealthProbeBindAddress),
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.leaseName(),
		LeaderElectionNamespace:       o.leaseNamespace(),
		LeaderElectionReleaseOnCancel: !o.LeaderElectNoRelease,
		LeaseDuration:                 &lease,
		RenewDeadline:                 &renew,
		RetryPeriod:                   &retry,
		Cache:                         cache.Options{NewInformer: app.NewInformer, DefaultNamespaces: map[string]cache.Config{o.Namespace: {}}},
	}, nil
}

// serveKind builds the downstream for broker name caching objects (plus the
// broker's Secrets), builds the kind's service with build and runs it until
// ctx ends. onReady (may be nil) is called once it serves.
// allSecrets caches every Secret of the namespace (see DownstreamOptions).
func serveKind(ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger, name string, objects []client.Object, allSecrets bool,
	build func(*Downstream) (*service, error), onReady func()) error {
	if opts.Namespace == "" {
		return fmt.Errorf("--namespace must not be empty")
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.KubeAPIQPS, opts.KubeAPIBurst
	d, err := NewDownstream(cfg, DownstreamOptions{
		Broker: name, Namespace: opts.Namespace, Objects: objects,
		Breaker: opts.Breaker, WriteTimeout: opts.WriteTimeout, AllSecrets: allSecrets, Log: log,
		ProbeInterval: opts.ProbeInterval, UnreachableThreshold: opts.UnreachableThreshold, RequestTimeout: opts.KubeAPITimeout,
	})
	if err != nil {
		return err
	}
	svc, err := build(d)
	if err != nil {
		return err
	}
	setup := func(ctx context.Context) error {
		if err := svc.setup(ctx); err != nil {
			return err
		}
		return d.TrackWrites(ctx, append(objects, &corev1.Secret{})...)
	}
	return Run(ctx, RunOptions{Options: opts, Name: name, Log: log, Config: cfg, Downstream: d, Setup: setup, Register: svc.register, OnReady: onReady, Sweepers: svc.sweepers, Servers: svc.servers})
}
