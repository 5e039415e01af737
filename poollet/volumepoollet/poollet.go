// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package volumepoollet announces a VolumePool and materialises the Volumes bound to it
// through an IRI volume runtime, and takes the VolumeSnapshots of those Volumes.
package volumepoollet

import (
	"context"

	"google.golang.org/grpc"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

// New connects to the volume runtime and builds the manager; the connection closes when ctx
// ends.
func New(ctx context.Context, cfg *rest.Config, o core.Options) (manager.Manager, error) {
	return core.New(ctx, cfg, o, remote.KindVolume, func(ctx context.Context, conn *grpc.ClientConn, wo remote.WatcherOptions) (core.Parts[*storagev1alpha1.Volume, *volumev1alpha1.Volume], error) {
		var p core.Parts[*storagev1alpha1.Volume, *volumev1alpha1.Volume]
		rt, err := remote.NewVolumeRuntime(ctx, conn)
		if err != nil {
			return p, err
		}
		v, err := rt.Version(ctx, &volumev1alpha1.VersionRequest{Version: remote.APIVersion})
		if err != nil {
			return p, err
		}
		w, err := remote.NewVolumeWatcher(rt, nil, wo)
		if err != nil {
			return p, err
		}
		snapshots := &snapshotReconciler{rt: rt, pool: o.Pool.Name, runtimeName: v.GetRuntimeName(), relist: o.Runtime.RelistPeriod}
		return core.Parts[*storagev1alpha1.Volume, *volumev1alpha1.Volume]{
			Adapter:      &adapter{rt: rt, pool: o.Pool.Name, runtimeName: v.GetRuntimeName()},
			Pool:         &poolAdapter{PoolTypes: poolTypes(o.Pool.ProviderID), rt: rt},
			Watcher:      w,
			RuntimeName:  v.GetRuntimeName(),
			PoolRefField: storagev1alpha1.VolumePoolRefNameField,
			EventKinds:   []core.EventKind{{Kind: labels.VolumeSnapshot, New: func() client.Object { return &storagev1alpha1.VolumeSnapshot{} }}},
			Setup: func(mgr manager.Manager, o core.Options) error {
				snapshots.client = mgr.GetClient()
				return snapshots.setup(mgr, o.Manager.MaxConcurrentReconciles)
			},
		}, nil
	})
}
