// Command ceph-bucket-provider serves an IRI BucketRuntime (with ironfed's
// WatchBuckets) on Ceph RGW over a unix socket. It is pure Go: it talks to
// RGW's admin ops API and S3 over HTTP. See docs/ceph-provider.md.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/cmd/internal/providercmd"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/ceph/bucket"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

func main() {
	var o options
	o.addFlags(pflag.CommandLine)
	providercmd.Main("ceph-bucket-provider", pflag.CommandLine, func(ctx context.Context, log logr.Logger) error { return run(ctx, &o, log) })
}

// adminCredentials reads the admin user's keys: from the file (JSON
// {"accessKey","secretKey"}, as localceph writes it) or the environment.
func adminCredentials(path string) (string, string, error) {
	if path == "" {
		ak, sk := os.Getenv("RGW_ADMIN_ACCESS_KEY"), os.Getenv("RGW_ADMIN_SECRET_KEY")
		if ak == "" || sk == "" {
			return "", "", fmt.Errorf("RGW admin credentials: set --rgw-admin-credentials or RGW_ADMIN_ACCESS_KEY and RGW_ADMIN_SECRET_KEY")
		}
		return ak, sk, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("--rgw-admin-credentials: %w", err)
	}
	var c struct{ AccessKey, SecretKey string }
	if err := json.Unmarshal(b, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" {
		return "", "", fmt.Errorf("--rgw-admin-credentials %s: want JSON {\"accessKey\": ..., \"secretKey\": ...}", path)
	}
	return c.AccessKey, c.SecretKey, nil
}

func run(ctx context.Context, o *options, log logr.Logger) error {
	if err := o.validate(); err != nil {
		return err
	}
	classes, err := objstore.LoadClasses(o.classesFile)
	if err != nil {
		return err
	}
	if len(classes.BucketClasses) == 0 {
		return fmt.Errorf("--classes %s defines no bucketClasses", o.classesFile)
	}
	ak, sk, err := adminCredentials(o.adminCredentials)
	if err != nil {
		return err
	}
	rgw, err := bucket.NewRGW(o.rgwEndpoint, ak, sk)
	if err != nil {
		return err
	}
	endpoint := o.bucketEndpoint
	if endpoint == "" {
		u, _ := url.Parse(o.rgwEndpoint)
		endpoint = u.Host
	}
	b, err := bucket.New(ctx, rgw, bucket.Options{Classes: classes.BucketClasses, UserPrefix: o.userPrefix, Endpoint: endpoint, Logger: log})
	if err != nil {
		return err
	}
	defer b.Close()
	if o.sweepInterval > 0 {
		if _, err := b.Sweep(ctx); err != nil {
			log.Error(err, "Orphan sweep failed; retrying at the next interval")
		}
	}
	counts := objstore.Counts{"bucket": b.Index.Len}
	if err := metrics.Registry.Register(counts); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	defer metrics.Registry.Unregister(counts)
	srv, err := remote.NewServer(remote.ServeOptions{SocketPath: o.socket, Register: b.Register, Logger: log, Metrics: true})
	if err != nil {
		return err
	}
	log.Info("Serving IRI bucket runtime", "socket", srv.Path(), "rgw", o.rgwEndpoint, "bucketEndpoint", endpoint,
		"buckets", b.Index.Len(), "classes", len(classes.BucketClasses))
	sweep := providercmd.Every(o.sweepInterval, log, "Orphan sweep", func(ctx context.Context) error {
		_, err := b.Sweep(ctx)
		return err
	})
	return providercmd.Serve(ctx, o.http, []*remote.Server{srv}, nil, sweep)
}
