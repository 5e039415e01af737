// Command libvirt-provider serves an IRI machine runtime backed by libvirtd and QEMU on a unix socket.
// See docs/libvirt-provider.md.
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

	"github.com/ironfed/ironfed/cmd/internal/providercmd"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/libvirt"
	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
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
	if err := run(ctx, &o, log); err != nil {
		log.Error(err, "libvirt-provider failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options, log logr.Logger) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	cfg.Log = log
	if o.libvirt.daemonDir != "" {
		d, err := localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: o.libvirt.daemonDir})
		if err != nil {
			return err
		}
		cfg.Socket = d.Socket
		log.Info("Using private libvirtd", "pid", d.Pid, "uri", d.URI)
	}
	var execLis net.Listener
	if o.exec.bindAddress != "" {
		if execLis, err = net.Listen("tcp", o.exec.bindAddress); err != nil {
			return fmt.Errorf("exec server: %w", err)
		}
		cfg.ExecBaseURL = o.exec.url
		if cfg.ExecBaseURL == "" {
			cfg.ExecBaseURL = "http://" + execLis.Addr().String()
		}
	}
	p, err := libvirt.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	srv, err := remote.NewServer(remote.ServeOptions{SocketPath: o.socket, Register: func(s *grpc.Server) { p.Register(s) }, Logger: log.WithName("machine"), Metrics: true})
	if err != nil {
		return err
	}
	log.Info("Serving IRI machine runtime", "socket", srv.Path(), "domainType", p.DomainType(), "rootDir", cfg.RootDir)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(ctx) })
	if execLis != nil {
		log.Info("Serving exec consoles", "url", cfg.ExecBaseURL)
		g.Go(func() error { return providercmd.ServeHTTP(ctx, execLis, p.ExecHandler()) })
	}
	if o.probeAddr != "0" {
		g.Go(func() error {
			return providercmd.ListenHTTP(ctx, o.probeAddr, providercmd.Probes([]*remote.Server{srv}, nil))
		})
	}
	g.Go(func() error { return providercmd.ServeMetrics(ctx, o.metricsAdr, o.metricsSecurity) })
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("Libvirt provider stopped; domains keep running")
	return nil
}
