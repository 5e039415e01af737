package common

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/iri/remote"
)

// RunOptions wire one broker kind into a process.
type RunOptions struct {
	Options
	Log        logr.Logger
	Downstream *Downstream
	// Setup registers indexes and handlers on the cache before it starts.
	Setup func(ctx context.Context) error
	// Register adds the IRI service to the gRPC server.
	Register func(*grpc.Server)
	// OnReady is called once the broker serves (tests use it).
	OnReady func()
	// Sweepers remove incomplete leftovers of crashed creates every
	// IncompleteSweepInterval once the cache has synced.
	Sweepers []Sweeper
}

// Run starts the cache, waits for it to sync, then serves the IRI socket,
// /metrics, /healthz and /readyz until ctx ends, probing the downstream's
// reachability meanwhile. The gRPC health service reports SERVING once the
// cache has synced and while the downstream is reachable.
func Run(ctx context.Context, o RunOptions) error {
	var ready atomic.Bool
	if err := o.Setup(ctx); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return o.Downstream.Cache.Start(ctx) })
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
	o.Downstream.OnReachableChange(func(r bool) {
		healthMu.Lock()
		defer healthMu.Unlock()
		reachable = r
		setHealth()
	})
	g.Go(func() error { o.Downstream.RunProbes(ctx); return nil })
	for _, srv := range []struct {
		addr string
		mux  func() *http.ServeMux
	}{
		{o.MetricsBindAddress, func() *http.ServeMux {
			m := http.NewServeMux()
			m.Handle("/metrics", promhttp.HandlerFor(ctrlmetrics.Registry, promhttp.HandlerOpts{}))
			return m
		}},
		{o.HealthProbeBindAddress, func() *http.ServeMux {
			m := http.NewServeMux()
			m.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
			m.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
				if !ready.Load() {
					http.Error(w, "downstream cache not synced", http.StatusServiceUnavailable)
					return
				}
				_, _ = w.Write([]byte("ok"))
			})
			return m
		}},
	} {
		if srv.addr == "" || srv.addr == "0" {
			continue
		}
		lis, err := net.Listen("tcp", srv.addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", srv.addr, err)
		}
		hsrv := &http.Server{Handler: srv.mux(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := hsrv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return hsrv.Close()
		})
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
	g.Go(func() error {
		if !o.Downstream.Cache.WaitForCacheSync(ctx) {
			_ = server.Serve(ctx) // ctx is done: only cleans up the socket
			return fmt.Errorf("downstream cache of %s did not sync", o.Downstream.Host)
		}
		healthMu.Lock()
		ready.Store(true)
		setHealth()
		healthMu.Unlock()
		o.Log.Info("Downstream cache synced; serving", "downstream", o.Downstream.Host, "address", server.Path())
		g.Go(func() error { o.sweepLoop(ctx, o.Sweepers); return nil })
		if o.OnReady != nil {
			o.OnReady()
		}
		return server.Serve(ctx)
	})
	return g.Wait()
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
		ProbeInterval: opts.ProbeInterval, UnreachableThreshold: opts.UnreachableThreshold,
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
	return Run(ctx, RunOptions{Options: opts, Log: log, Downstream: d, Setup: setup, Register: svc.register, OnReady: onReady, Sweepers: svc.sweepers})
}
