// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command ironfed-controller-manager runs the schedulers and pool heartbeat monitors of one cluster.
package main

import (
	"context"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/federation/controllermanager"
)

func main() {
	opts := controllermanager.DefaultOptions()
	app.Main("ironfed-controller-manager", opts.AddFlags,
		app.StartManager(func(_ context.Context, cfg *rest.Config) (manager.Manager, error) {
			return controllermanager.New(cfg, opts)
		}))
}
