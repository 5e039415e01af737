// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package poollettest starts what the poollet tests need: a real cluster, the in-memory provider
// on a real unix socket (stoppable, to simulate outages) and a poollet manager.
package poollettest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/framework"
)

// Env is one cluster plus one provider.
type Env struct {
	Config   *rest.Config
	Client   client.Client
	Provider *memory.Provider
	Socket   string
	// NoWatch makes the provider answer Unimplemented to Watch* (an upstream provider).
	NoWatch bool
	// Intercept, if set before StartServer, wraps every unary call (e.g. to make Status hang).
	Intercept grpc.UnaryServerInterceptor

	mu   sync.Mutex
	stop func()
}

var setLogger sync.Once

// Start starts a cluster and serves a fresh memory provider. Logs go to stderr with
// IRONFED_TEST_LOGS=1, else nowhere.
func Start(t testing.TB, noWatch bool) *Env {
	t.Helper()
	return StartWithConfig(t, memory.DefaultConfig(), noWatch)
}

// StartWithConfig is Start with a provider config (e.g. more capacity for benchmarks).
func StartWithConfig(t testing.TB, cfg memory.Config, noWatch bool) *Env {
	t.Helper()
	setLogger.Do(func() {
		if os.Getenv("IRONFED_TEST_LOGS") != "" {
			ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
		} else {
			ctrl.SetLogger(logr.Discard())
		}
	})
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"poollet"}, WithoutControllerManager: true})[0]
	p, err := memory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	scheme, err := core.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Config: c.Config, Client: cl, Provider: p, Socket: filepath.Join(t.TempDir(), "iri.sock"), NoWatch: noWatch}
	e.StartServer(t)
	t.Cleanup(e.StopServer)
	return e
}

// StartServer serves the provider on the socket (again, after StopServer).
func (e *Env) StartServer(t testing.TB) {
	t.Helper()
	var opts []grpc.ServerOption
	if e.NoWatch {
		opts = append(opts, grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if strings.Contains(info.FullMethod, "/Watch") {
				return status.Error(codes.Unimplemented, "watch not implemented (simulated upstream provider)")
			}
			return h(srv, ss)
		}))
	}
	if e.Intercept != nil {
		opts = append(opts, grpc.UnaryInterceptor(e.Intercept))
	}
	srv, err := remote.NewServer(remote.ServeOptions{
		SocketPath: e.Socket,
		Register: func(s *grpc.Server) {
			machinev1alpha1.RegisterMachineRuntimeServer(s, e.Provider.MachineServer())
			volumev1alpha1.RegisterVolumeRuntimeServer(s, e.Provider.VolumeServer())
			bucketv1alpha1.RegisterBucketRuntimeServer(s, e.Provider.BucketServer())
		},
		ShutdownTimeout: time.Second,
		GRPCOptions:     opts,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	e.mu.Lock()
	e.stop = func() { cancel(); <-done }
	e.mu.Unlock()
}

// StopServer stops serving; the provider keeps its state.
func (e *Env) StopServer() {
	e.mu.Lock()
	stop := e.stop
	e.stop = nil
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Options are poollet options with short periods for tests.
func (e *Env) Options(pool string) core.Options {
	o := core.DefaultOptions()
	o.Pool.Name, o.Pool.ProviderID = pool, "memory://"+pool
	o.Pool.StatusPeriod, o.Pool.HeartbeatInterval = time.Second, time.Second
	o.Runtime.Endpoint = "unix://" + e.Socket
	o.Runtime.RelistPeriod, o.Runtime.RelistThreshold = 500*time.Millisecond, time.Second
	o.Manager.MetricsBindAddress, o.Manager.HealthProbeBindAddress = "0", "0"
	o.Manager.SkipControllerNameValidation = true
	return o
}

// Run starts a manager built by build and returns a function stopping it (also run at cleanup).
func Run(t testing.TB, build func(ctx context.Context) (manager.Manager, error)) (stop func()) {
	t.Helper()
	_, stop = RunManager(t, build)
	return stop
}

// RunManager is Run that also returns the manager (e.g. to see whether it leads).
func RunManager(t testing.TB, build func(ctx context.Context) (manager.Manager, error)) (manager.Manager, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := build(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("poollet: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return mgr, stop
}

// Eventually polls cond every 100ms until it returns nil or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
