// Command ceph-volume-provider serves an IRI VolumeRuntime (with ironfed's
// WatchVolumes) on Ceph RBD over a unix socket. It links librbd: build it
// with GOFLAGS=-tags=ceph,pacific (make does). See docs/ceph-provider.md.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/cmd/internal/providercmd"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/ceph/volume"
	"github.com/ironfed/ironfed/providers/ceph/volume/osimage"
	"github.com/ironfed/ironfed/providers/ceph/volume/rbd"
)

func main() {
	var o options
	o.addFlags(pflag.CommandLine)
	providercmd.Main("ceph-volume-provider", pflag.CommandLine, func(ctx context.Context, log logr.Logger) error { return run(ctx, &o, log) })
}

func run(ctx context.Context, o *options, log logr.Logger) error {
	if err := o.validate(); err != nil {
		return err
	}
	classes, err := objstore.LoadClasses(o.classesFile)
	if err != nil {
		return err
	}
	if len(classes.VolumeClasses) == 0 {
		return fmt.Errorf("--classes %s defines no volumeClasses", o.classesFile)
	}
	ropts := rbd.Options{Monitors: o.ceph.monitors, ConfigFile: o.ceph.config, User: o.ceph.user, Pool: o.pool, ClientUser: o.clientUser}
	if o.ceph.keyFile != "" {
		key, err := os.ReadFile(o.ceph.keyFile)
		if err != nil {
			return fmt.Errorf("--ceph-key-file: %w", err)
		}
		ropts.Key = strings.TrimSpace(string(key))
	}
	conn, err := rbd.Open(ctx, ropts)
	if err != nil {
		return err
	}
	defer conn.Close()
	v, err := volume.New(ctx, conn, volume.Options{
		Classes: classes.VolumeClasses, ImagePrefix: o.imagePrefix, Logger: log,
		Images: &osimage.Registry{PlainHTTP: o.imagePlainHTTP},
	})
	if err != nil {
		return err
	}
	defer v.Close()
	if o.sweepInterval > 0 {
		if _, err := v.Sweep(ctx); err != nil {
			log.Error(err, "Orphan sweep failed; retrying at the next interval")
		}
	}
	counts := objstore.Counts{"volume": v.Index.Len, "volume-snapshot": v.Snapshots.Len}
	if err := metrics.Registry.Register(counts); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	defer metrics.Registry.Unregister(counts)
	srv, err := remote.NewServer(remote.ServeOptions{SocketPath: o.socket, Register: v.Register, Logger: log, Metrics: true})
	if err != nil {
		return err
	}
	log.Info("Serving IRI volume runtime", "socket", srv.Path(), "pool", conn.Pool(), "monitors", o.ceph.monitors,
		"volumes", v.Index.Len(), "snapshots", v.Snapshots.Len(), "classes", len(classes.VolumeClasses))
	sweep := providercmd.Every(o.sweepInterval, log, "Orphan sweep", func(ctx context.Context) error {
		_, err := v.Sweep(ctx)
		return err
	})
	ready := func() error {
		_, err := v.Status(ctx)
		return err
	}
	return providercmd.Serve(ctx, o.http, []*remote.Server{srv}, ready, sweep)
}
