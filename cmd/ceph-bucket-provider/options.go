package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/pflag"

	"github.com/ironfed/ironfed/cmd/internal/providercmd"
)

type options struct {
	socket           string
	rgwEndpoint      string
	adminCredentials string
	bucketEndpoint   string
	classesFile      string
	userPrefix       string
	sweepInterval    time.Duration
	http             providercmd.HTTPOptions
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.socket, "socket", "/var/run/iri-bucketprovider.sock", "Unix socket of the IRI bucket runtime.")
	fs.StringVar(&o.rgwEndpoint, "rgw-endpoint", "", "URL of the RADOS Gateway (admin ops API and S3), e.g. http://127.0.0.1:7480. Required.")
	fs.StringVar(&o.adminCredentials, "rgw-admin-credentials", "", "JSON file {\"accessKey\",\"secretKey\"} of an RGW user with caps users=*;buckets=* (default: $RGW_ADMIN_ACCESS_KEY and $RGW_ADMIN_SECRET_KEY).")
	fs.StringVar(&o.bucketEndpoint, "bucket-endpoint", "", "host[:port] clients reach RGW at; each bucket's endpoint is <bucket>.<bucket-endpoint> (default: the host of --rgw-endpoint).")
	fs.StringVar(&o.classesFile, "classes", "", "YAML/JSON file with bucketClasses (name, tps, iops, maxSizeBytes, maxObjects); empty: standard (see docs/ceph-provider.md).")
	fs.StringVar(&o.userPrefix, "user-prefix", "ironfed-", "Prefix of the RGW users this provider owns (one per bucket); the orphan sweep touches nothing else.")
	fs.DurationVar(&o.sweepInterval, "sweep-interval", 10*time.Minute, "How often to remove users with --user-prefix that have no record (half-created); also once at start. 0 disables.")
	o.http.AddFlags(fs)
}

func (o *options) validate() error {
	u, err := url.Parse(o.rgwEndpoint)
	if o.rgwEndpoint == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--rgw-endpoint %q: want an http(s) URL such as http://127.0.0.1:7480", o.rgwEndpoint)
	}
	if o.sweepInterval < 0 {
		return fmt.Errorf("--sweep-interval must not be negative, got %s", o.sweepInterval)
	}
	return nil
}
