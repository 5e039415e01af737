// Package providercmd is the wiring IRI provider binaries share: zap
// logging flags, the /healthz, /readyz and /metrics endpoints, serving IRI
// sockets until a signal, and periodic housekeeping.
package providercmd

import (
	"context"
	"errors"
	goflag "flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/iri/remote"
)

// HTTPOptions are the probe and metrics addresses and how /metrics is protected.
type HTTPOptions struct {
	ProbeAddr, MetricsAddr string
	MetricsSecurity        app.MetricsSecurity
}

// AddFlags adds --health-probe-bind-address, --metrics-bind-address, --metrics-secure and
// --metrics-cert-dir.
func (o *HTTPOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", "127.0.0.1:8081", "Address of /healthz and /readyz (loopback unless set, e.g. \":8081\" in a pod); \"0\" disables them.")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", "127.0.0.1:8080", "Address of /metrics (loopback unless set, e.g. \":8080\" in a pod); \"0\" disables it.")
	o.MetricsSecurity.AddFlags(fs)
}

// ServeMetrics serves /metrics (controller-runtime's registry) on addr until ctx is done. With
// --metrics-secure it is HTTPS, and callers' tokens are checked with the apiserver that the
// kubeconfig of $KUBECONFIG, or the in-cluster config, names.
func ServeMetrics(ctx context.Context, addr string, sec app.MetricsSecurity) error {
	if addr == "0" {
		return nil
	}
	var cfg *rest.Config
	var hc *http.Client
	if sec.Secure {
		var err error
		if cfg, err = ctrl.GetConfig(); err != nil {
			return fmt.Errorf("--metrics-secure checks callers with the apiserver: %w", err)
		}
		if hc, err = rest.HTTPClientFor(cfg); err != nil {
			return err
		}
	}
	srv, err := metricsserver.NewServer(sec.ServerOptions(addr), cfg, hc)
	if err != nil {
		return err
	}
	return srv.Start(ctx)
}

// Main parses the flags (with zap's), builds the logger and runs run until
// SIGINT or SIGTERM; a failure exits 1.
func Main(name string, fs *pflag.FlagSet, run func(ctx context.Context, log logr.Logger) error) {
	zapOpts := zap.Options{}
	goflags := goflag.NewFlagSet("zap", goflag.ExitOnError)
	zapOpts.BindFlags(goflags)
	fs.AddGoFlagSet(goflags)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	log := zap.New(zap.UseFlagOptions(&zapOpts)).WithName(name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error(err, name+" failed")
		os.Exit(1)
	}
}

// Serve serves the IRI servers, the probes and metrics until ctx is done;
// every extra function runs beside them with the same context.
func Serve(ctx context.Context, o HTTPOptions, servers []*remote.Server, ready func() error, extra ...func(context.Context) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, srv := range servers {
		g.Go(func() error { return srv.Serve(ctx) })
	}
	if o.ProbeAddr != "0" {
		g.Go(func() error { return ListenHTTP(ctx, o.ProbeAddr, Probes(servers, ready)) })
	}
	g.Go(func() error { return ServeMetrics(ctx, o.MetricsAddr, o.MetricsSecurity) })
	for _, f := range extra {
		g.Go(func() error { return f(ctx) })
	}
	return g.Wait()
}

// Probes: /healthz answers while the process runs; /readyz while every
// socket still exists and ready (if set) has no error.
func Probes(servers []*remote.Server, ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		for _, s := range servers {
			if _, err := os.Stat(s.Path()); err != nil {
				http.Error(w, "socket "+s.Path()+" is gone: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		if ready != nil {
			if err := ready(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = fmt.Fprintln(w, "ok")
	})
	return mux
}

// ListenHTTP serves h on addr until ctx is done.
func ListenHTTP(ctx context.Context, addr string, h http.Handler) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ServeHTTP(ctx, lis, h)
}

// ServeHTTP serves h on lis until ctx is done, then shuts down gracefully.
func ServeHTTP(ctx context.Context, lis net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("HTTP server on %s: %w", lis.Addr(), err)
	}
	return nil
}

// Every runs f every interval until ctx is done (interval 0: never); f's
// errors are logged, not fatal.
func Every(interval time.Duration, log logr.Logger, what string, f func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if interval <= 0 {
			return nil
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := f(ctx); err != nil && ctx.Err() == nil {
					log.Error(err, what+" failed; retrying at the next interval")
				}
			}
		}
	}
}
