// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command volumepoollet announces a VolumePool and runs the Volumes bound to it on an IRI
// volume runtime.
package main

import (
	goflag "flag"
	"os"

	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/volumepoollet"
)

func main() {
	opts := core.DefaultOptions()
	opts.AddFlags(pflag.CommandLine, "volume")
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
	mgr, err := volumepoollet.New(ctx, cfg, opts)
	if err != nil {
		fail(err)
	}
	if err := mgr.Start(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	ctrl.Log.Error(err, "volumepoollet failed")
	os.Exit(1)
}
