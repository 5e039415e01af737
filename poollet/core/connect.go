// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/iri/remote"
)

// Connect resolves the runtime endpoint (flag, env, well-known sockets) and dials it.
func Connect(ctx context.Context, kind remote.Kind, o RuntimeOptions) (*grpc.ClientConn, error) {
	endpoint, err := remote.ResolveEndpoint(ctx, kind, o.Endpoint, o.SocketDiscoveryTimeout)
	if err != nil {
		return nil, fmt.Errorf("resolve %s runtime endpoint: %w", kind, err)
	}
	conn, err := remote.Dial(ctx, endpoint, remote.WithDialTimeout(o.DialTimeout))
	if err != nil {
		return nil, fmt.Errorf("dial %s runtime: %w", kind, err)
	}
	return conn, nil
}

// WatcherOptions derives the Watcher's options from the runtime options.
func (o RuntimeOptions) WatcherOptions() remote.WatcherOptions {
	return remote.WatcherOptions{RelistPeriod: o.RelistPeriod}
}

// PartsFunc builds a kind's parts over a connected runtime; wo carries the Watcher options.
type PartsFunc[K client.Object, I remote.Object] func(ctx context.Context, conn *grpc.ClientConn, wo remote.WatcherOptions) (Parts[K, I], error)

// New connects to the runtime and builds the poollet's manager; the connection closes when ctx
// ends.
func New[K client.Object, I remote.Object](ctx context.Context, cfg *rest.Config, o Options, kind remote.Kind, parts PartsFunc[K, I]) (manager.Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	conn, err := Connect(ctx, kind, o.Runtime)
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); _ = conn.Close() }()
	wo := o.Runtime.WatcherOptions()
	wo.Logger = o.Manager.logger().WithName(string(kind) + "poollet").WithName("watcher")
	p, err := parts(ctx, conn, wo)
	if err != nil {
		return nil, err
	}
	return NewManager(cfg, o, p)
}
