package conformance_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/conformance"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/memory"
)

// TestMemoryProvider runs the whole suite against the memory provider on
// real unix sockets, with instant and with delayed transitions. The memory
// provider implements everything, so nothing may be skipped.
func TestMemoryProvider(t *testing.T) {
	for _, mode := range []struct {
		name  string
		delay time.Duration
	}{{"instant", 0}, {"delayed", 50 * time.Millisecond}} {
		t.Run(mode.name, func(t *testing.T) {
			cfg := serveMemory(t, mode.delay, nil)
			rep := conformance.RunTests(t, cfg)
			if rep.Skipped > 0 {
				t.Errorf("%d cases skipped against the memory provider; it must support everything", rep.Skipped)
			}
			if rep.Passed == 0 {
				t.Errorf("no case passed")
			}
			t.Log(rep.Totals())
		})
	}
}

// TestMemoryHostile runs the hostile-input probe against the memory provider.
func TestMemoryHostile(t *testing.T) {
	rep := conformance.RunSuiteTests(t, serveMemory(t, 0, nil), conformance.HostileSuite())
	if rep.Passed != 3 {
		t.Errorf("hostile suite: %s, want 3 passed", rep.Totals())
	}
}

// serveMemory serves a memory provider on three sockets; wrap, if set,
// replaces the machine service (to inject faults).
func serveMemory(t *testing.T, delay time.Duration, wrap func(machinev1alpha1.MachineRuntimeServer) machinev1alpha1.MachineRuntimeServer) conformance.Config {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	execLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mcfg := memory.DefaultConfig()
	mcfg.StateDelay.Duration = delay
	mcfg.ExecBaseURL = "http://" + execLis.Addr().String()
	p, err := memory.New(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	execSrv := &http.Server{Handler: p.ExecHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = execSrv.Serve(execLis) }()

	dir := t.TempDir()
	done := make(chan error, 3)
	serve := func(name string, register func(*grpc.Server)) string {
		path := filepath.Join(dir, name+".sock")
		srv, err := remote.NewServer(remote.ServeOptions{SocketPath: path, Register: register, Logger: logr.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- srv.Serve(ctx) }()
		return "unix://" + path
	}
	machineSrv := p.MachineServer()
	if wrap != nil {
		machineSrv = wrap(machineSrv)
	}
	cfg := conformance.Config{
		MachineEndpoint: serve("machine", func(s *grpc.Server) { machinev1alpha1.RegisterMachineRuntimeServer(s, machineSrv) }),
		VolumeEndpoint:  serve("volume", func(s *grpc.Server) { volumev1alpha1.RegisterVolumeRuntimeServer(s, p.VolumeServer()) }),
		BucketEndpoint:  serve("bucket", func(s *grpc.Server) { bucketv1alpha1.RegisterBucketRuntimeServer(s, p.BucketServer()) }),
		WaitTimeout:     10 * time.Second,
		PollInterval:    10 * time.Millisecond,
	}
	t.Cleanup(func() {
		cancel()
		for range 3 {
			if err := <-done; err != nil {
				t.Errorf("serving: %v", err)
			}
		}
		_ = execSrv.Close()
		p.Close()
	})
	return cfg
}
