// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command bucketpoollet announces a BucketPool and runs the Buckets bound to it on an IRI
// bucket runtime.
package main

import (
	"context"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/poollet/bucketpoollet"
)

func main() {
	opts := bucketpoollet.DefaultOptions()
	app.Main("bucketpoollet", func(fs *pflag.FlagSet) { opts.AddFlags(fs) },
		app.StartManager(func(ctx context.Context, cfg *rest.Config) (manager.Manager, error) {
			return bucketpoollet.New(ctx, cfg, opts)
		}))
}
