// Command memory-provider serves the in-memory IRI runtimes (machines,
// volumes, buckets) on unix sockets, for tests, demos and scale
// simulations. See docs/memory-provider.md.
package main

import (
	"context"
	goflag "flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/cmd/internal/providercmd"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/memory"
)

func main() {
	var o options
	o.addFlags(pflag.CommandLine)
	zapOpts := zap.Options{}
	goflags := goflag.NewFlagSet("zap", goflag.ExitOnError)
	zapOpts.BindFlags(goflags)
	pflag.CommandLine.AddGoFlagSet(goflags)
	pflag.Parse()
	log := zap.New(zap.UseFlagOptions(&zapOpts))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, &o, pflag.CommandLine.Changed("state-delay"), log); err != nil {
		log.Error(err, "memory-provider failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options, delayFlagSet bool, log logr.Logger) error {
	if err := o.validate(); err != nil {
		return err
	}
	cfg := memory.DefaultConfig()
	if o.configFile != "" {
		var err error
		if cfg, err = memory.LoadConfig(o.configFile); err != nil {
			return err
		}
	}
	if delayFlagSet {
		cfg.StateDelay.Duration = o.stateDelay
	}
	var execLis net.Listener
	if o.exec.bindAddress != "" {
		var err error
		if execLis, err = net.Listen("tcp", o.exec.bindAddress); err != nil {
			return fmt.Errorf("exec server: %w", err)
		}
		cfg.ExecBaseURL = o.exec.url
		if cfg.ExecBaseURL == "" {
			cfg.ExecBaseURL = "http://" + execLis.Addr().String()
		}
	}
	p, err := memory.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	collector := p.Collector()
	if err := metrics.Registry.Register(collector); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	defer metrics.Registry.Unregister(collector)
	if err := remote.RegisterMetrics(metrics.Registry); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}

	registrars := map[string]func(*grpc.Server){
		"machine": func(s *grpc.Server) { machinev1alpha1.RegisterMachineRuntimeServer(s, p.MachineServer()) },
		"volume":  func(s *grpc.Server) { volumev1alpha1.RegisterVolumeRuntimeServer(s, p.VolumeServer()) },
		"bucket":  func(s *grpc.Server) { bucketv1alpha1.RegisterBucketRuntimeServer(s, p.BucketServer()) },
	}
	var servers []*remote.Server
	for _, kind := range []string{"machine", "volume", "bucket"} {
		path := o.socketFor(kind)
		if path == "" {
			continue
		}
		srv, err := remote.NewServer(remote.ServeOptions{SocketPath: path, Register: registrars[kind], Logger: log.WithName(kind), Metrics: true})
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		log.Info("Serving IRI runtime", "runtime", kind, "socket", srv.Path())
	}

	g, ctx := errgroup.WithContext(ctx)
	for _, srv := range servers {
		g.Go(func() error { return srv.Serve(ctx) })
	}
	if execLis != nil {
		log.Info("Serving exec consoles", "url", cfg.ExecBaseURL)
		g.Go(func() error { return providercmd.ServeHTTP(ctx, execLis, p.ExecHandler()) })
	}
	if o.probeAddr != "0" {
		g.Go(func() error { return providercmd.ListenHTTP(ctx, o.probeAddr, providercmd.Probes(servers, nil)) })
	}
	g.Go(func() error { return providercmd.ServeMetrics(ctx, o.metricsAdr, o.metricsSecurity) })
	log.Info("Memory provider running", "machineClasses", len(cfg.MachineClasses), "volumeClasses", len(cfg.VolumeClasses),
		"bucketClasses", len(cfg.BucketClasses), "stateDelay", cfg.StateDelay.Duration)
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("Memory provider stopped")
	return nil
}
