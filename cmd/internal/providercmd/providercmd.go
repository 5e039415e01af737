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
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/iri/remote"
)

// HTTPOptions are the probe and metrics addresses.
type HTTPOptions struct {
	ProbeAddr, MetricsAddr string
}

// AddFlags adds --health-probe-bind-address and --metrics-bind-address.
func (o *HTTPOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", "127.0.0.1:8081", "Address of /healthz and /readyz (loopback unless set, e.g. \":8081\" in a pod); \"0\" disables them.")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", "127.0.0.1:8080", "Address of /metrics (loopback unless set, e.g. \":8080\" in a pod); \"0\" disables it.")
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
	if o.MetricsAddr != "0" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
		g.Go(func() error { return ListenHTTP(ctx, o.MetricsAddr, mux) })
	}
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
