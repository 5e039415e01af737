// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command volumepoollet announces a VolumePool and runs the Volumes bound to it on an IRI
// volume runtime.
package main

import (
	"context"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/volumepoollet"
)

func main() {
	opts := core.DefaultOptions()
	app.Main("volumepoollet", func(fs *pflag.FlagSet) { opts.AddFlags(fs, "volume") },
		app.StartManager(func(ctx context.Context, cfg *rest.Config) (manager.Manager, error) {
			return volumepoollet.New(ctx, cfg, opts)
		}))
}
