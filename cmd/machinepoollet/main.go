// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command machinepoollet announces a MachinePool and runs the Machines bound to it on an IRI
// machine runtime.
package main

import (
	"context"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
)

func main() {
	opts := core.DefaultOptions()
	var console machinepoollet.ConsoleOptions
	app.Main("machinepoollet", func(fs *pflag.FlagSet) { opts.AddFlags(fs, "machine"); console.AddFlags(fs) },
		app.StartManager(func(ctx context.Context, cfg *rest.Config) (manager.Manager, error) {
			return machinepoollet.NewWithConsole(ctx, cfg, opts, console)
		}))
}
