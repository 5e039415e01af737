// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package bucketpoollet announces a BucketPool and materialises the Buckets bound to it
// through an IRI bucket runtime.
package bucketpoollet

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

// DefaultCapacity is the announced capacity of every bucket class.
const DefaultCapacity = 1000

// Options are the common poollet options plus the bucket capacity the IRI cannot report.
type Options struct {
	core.Options
	// Capacity is announced per bucket class (--bucket-pool-capacity).
	Capacity int64
}

// DefaultOptions are the flag defaults.
func DefaultOptions() Options {
	return Options{Options: core.DefaultOptions(), Capacity: DefaultCapacity}
}

// AddFlags binds the options.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Options.AddFlags(fs, "bucket")
	fs.Int64Var(&o.Capacity, "bucket-pool-capacity", o.Capacity, "Buckets announced as capacity per bucket class (the IRI reports no bucket capacity).")
}

// New connects to the bucket runtime and builds the manager; the connection closes when ctx
// ends.
func New(ctx context.Context, cfg *rest.Config, o Options) (manager.Manager, error) {
	if o.Capacity < 0 {
		return nil, fmt.Errorf("bucket pool capacity must not be negative, got %d", o.Capacity)
	}
	return core.New(ctx, cfg, o.Options, remote.KindBucket, func(ctx context.Context, conn *grpc.ClientConn, wo remote.WatcherOptions) (core.Parts[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket], error) {
		var p core.Parts[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket]
		rt, err := remote.NewBucketRuntime(ctx, conn)
		if err != nil {
			return p, err
		}
		v, err := rt.Version(ctx, &bucketv1alpha1.VersionRequest{Version: remote.APIVersion})
		if err != nil {
			return p, err
		}
		w, err := remote.NewBucketWatcher(rt, nil, wo)
		if err != nil {
			return p, err
		}
		return core.Parts[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket]{
			Adapter:      &adapter{rt: rt},
			Pool:         &poolAdapter{PoolTypes: poolTypes(o.Pool.ProviderID), rt: rt, capacity: o.Capacity},
			Watcher:      w,
			RuntimeName:  v.GetRuntimeName(),
			PoolRefField: storagev1alpha1.BucketPoolRefNameField,
		}, nil
	})
}
