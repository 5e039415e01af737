// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package machinepoollet announces a MachinePool and materialises the Machines bound to it
// through an IRI machine runtime.
package machinepoollet

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

// New connects to the machine runtime and builds the manager; the connection closes when ctx
// ends.
func New(ctx context.Context, cfg *rest.Config, o core.Options) (manager.Manager, error) {
	return NewWithConsole(ctx, cfg, o, ConsoleOptions{})
}

// NewWithConsole is New plus the console server of c (none when c.BindAddress is empty).
func NewWithConsole(ctx context.Context, cfg *rest.Config, o core.Options, c ConsoleOptions) (manager.Manager, error) {
	return core.New(ctx, cfg, o, remote.KindMachine, func(ctx context.Context, conn *grpc.ClientConn, wo remote.WatcherOptions) (core.Parts[*computev1alpha1.Machine, *machinev1alpha1.Machine], error) {
		var p core.Parts[*computev1alpha1.Machine, *machinev1alpha1.Machine]
		rt, err := remote.NewMachineRuntime(ctx, conn)
		if err != nil {
			return p, err
		}
		v, err := rt.Version(ctx, &machinev1alpha1.VersionRequest{Version: remote.APIVersion})
		if err != nil {
			return p, err
		}
		wo.Strip = stripIgnition
		w, err := remote.NewMachineWatcher(rt, nil, wo)
		if err != nil {
			return p, err
		}
		return core.Parts[*computev1alpha1.Machine, *machinev1alpha1.Machine]{
			Adapter:      &adapter{rt: rt},
			Pool:         &poolAdapter{PoolTypes: poolTypes(o.Pool.ProviderID), rt: rt},
			Watcher:      w,
			RuntimeName:  v.GetRuntimeName(),
			PoolRefField: computev1alpha1.MachinePoolRefNameField,
			Setup:        withConsole(ctx, c, rt),
		}, nil
	})
}

// stripIgnition clears a watched machine's ignition data before the Watcher caches it: up to
// 1 MiB per machine that the poollet never reads back (IRI has no call that changes it).
func stripIgnition(m proto.Message) {
	if s := m.(*machinev1alpha1.Machine).GetSpec(); s != nil {
		s.IgnitionData = nil
	}
}

// withConsole is the setup that adds the console server, if it is enabled. (A Machine's ephemeral
// Volumes and NetworkInterfaces are the controller-manager's, federation/ephemeral: the poollet
// only waits for them.)
func withConsole(ctx context.Context, c ConsoleOptions, rt remote.MachineRuntime) func(manager.Manager, core.Options) error {
	if c.BindAddress == "" {
		return nil
	}
	return func(mgr manager.Manager, o core.Options) error {
		cs, err := kubernetes.NewForConfig(mgr.GetConfig())
		if err != nil {
			return err
		}
		s, err := newConsoleServer(ctx, c, o.Pool.Name, rt, mgr.GetClient(), cs, mgr.GetLogger().WithName("console"))
		if err != nil {
			return err
		}
		return mgr.Add(s)
	}
}
