// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command bucketpoollet announces a BucketPool and runs the Buckets bound to it on an IRI
// bucket runtime.
package main

import (
	goflag "flag"
	"os"

	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ironfed/ironfed/poollet/bucketpoollet"
	"github.com/ironfed/ironfed/poollet/core"
)

func main() {
	opts := bucketpoollet.DefaultOptions()
	opts.AddFlags(pflag.CommandLine)
	clientOpts := core.DefaultClientOptions()
	clientOpts.AddFlags(pflag.CommandLine)
	zapOpts := zap.Options{}
	goflags := goflag.NewFlagSet("zap", goflag.ExitOnError)
	zapOpts.BindFlags(goflags)
	pflag.CommandLine.AddGoFlagSet(goflags)
	pflag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	ctx := ctrl.SetupSignalHandler()
	cfg, err := clientOpts.RESTConfig()
	if err != nil {
		fail(err)
	}
	mgr, err := bucketpoollet.New(ctx, cfg, opts)
	if err != nil {
		fail(err)
	}
	if err := mgr.Start(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	ctrl.Log.Error(err, "bucketpoollet failed")
	os.Exit(1)
}
