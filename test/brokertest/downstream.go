package brokertest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/bucketpoollet"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/poollet/volumepoollet"
	"github.com/ironfed/ironfed/providers/memory"
)

// RunDownstream starts what serves the downstream cluster at cfg: the
// controller-manager (schedulers, heartbeats), a memory provider on a real
// unix socket and the kind's real poollet ("machine", "volume" or "bucket")
// for pool, so brokered objects are scheduled, materialised and reach
// Running/Available. Everything stops when the test ends.
func RunDownstream(t testing.TB, cfg *rest.Config, kind, pool string, provider memory.Config) *memory.Provider {
	t.Helper()
	cmo := controllermanager.DefaultOptions()
	cmo.MetricsBindAddress, cmo.HealthProbeBindAddress = "0", "0"
	cmo.SkipControllerNameValidation = true
	run(t, "controller-manager", func(context.Context) (manager.Manager, error) { return controllermanager.New(cfg, cmo) })

	p, err := memory.New(provider)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	dir, err := os.MkdirTemp("", "brk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socket := filepath.Join(dir, "p.sock")
	srv, err := remote.NewServer(remote.ServeOptions{
		SocketPath:      socket,
		Register:        p.Register,
		ShutdownTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan struct{})
	go func() { _ = srv.Serve(sctx); close(sdone) }()
	t.Cleanup(func() { scancel(); <-sdone })

	o := core.DefaultOptions()
	o.Pool.Name, o.Pool.ProviderID = pool, "memory://"+pool
	o.Pool.StatusPeriod, o.Pool.HeartbeatInterval = time.Second, time.Second
	o.Runtime.Endpoint = "unix://" + socket
	o.Runtime.RelistPeriod, o.Runtime.RelistThreshold = 500*time.Millisecond, 5*time.Second
	o.Manager.MetricsBindAddress, o.Manager.HealthProbeBindAddress = "0", "0"
	o.Manager.SkipControllerNameValidation = true
	run(t, kind+"poollet", func(ctx context.Context) (manager.Manager, error) {
		switch kind {
		case "machine":
			return machinepoollet.New(ctx, cfg, o)
		case "volume":
			return volumepoollet.New(ctx, cfg, o)
		case "bucket":
			bo := bucketpoollet.DefaultOptions()
			bo.Options = o
			return bucketpoollet.New(ctx, cfg, bo)
		}
		return nil, errors.New("unknown kind " + kind)
	})
	return p
}

// run starts the manager build returns until the test ends.
func run(t testing.TB, what string, build func(ctx context.Context) (manager.Manager, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := build(ctx)
	if err != nil {
		cancel()
		t.Fatalf("%s: %v", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", what, err)
		}
	})
}
