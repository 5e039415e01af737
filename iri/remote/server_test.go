package remote

import (
	"context"
	"github.com/prometheus/client_golang/prometheus"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

func registerFake(f *fakeMachines) func(*grpc.Server) {
	return func(s *grpc.Server) { machinev1alpha1.RegisterMachineRuntimeServer(s, f) }
}

func TestServerReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stale.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	// A crashed server leaves its socket file behind.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = l.Close()

	srv, err := NewServer(ServeOptions{SocketPath: path, Register: registerFake(newFakeMachines())})
	if err != nil {
		t.Fatalf("NewServer over a stale socket: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != DefaultSocketMode {
		t.Errorf("socket mode = %v, %v; want %v", fi.Mode().Perm(), err, DefaultSocketMode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Serve(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket still exists after Serve returned: %v", err)
	}
}

func TestServerRefusesLiveSocketAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	listenSocket(t, live)
	_, err := NewServer(ServeOptions{SocketPath: live, Register: registerFake(newFakeMachines())})
	if err == nil || !strings.Contains(err.Error(), "another server is listening") {
		t.Errorf("live socket: err = %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = NewServer(ServeOptions{SocketPath: file, Register: registerFake(newFakeMachines())})
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file: err = %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("the regular file was touched")
	}
	if _, err := NewServer(ServeOptions{SocketPath: filepath.Join(dir, "x.sock")}); err == nil {
		t.Error("missing Register accepted")
	}
	if _, err := NewServer(ServeOptions{SocketPath: filepath.Join(dir, "nodir", "x.sock"), Register: registerFake(newFakeMachines())}); err == nil {
		t.Error("socket in a missing directory accepted")
	}
}

func TestServerRecoversPanicsAndRecordsMetrics(t *testing.T) {
	f := newFakeMachines()
	rt := connectFake(t, serveFake(t, f))
	f.panicOnList.Store(true)
	_, err := rt.ListMachines(context.Background(), &machinev1alpha1.ListMachinesRequest{})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "exploded") {
		t.Fatalf("err = %v, want Internal without the panic value", err)
	}
	f.panicOnList.Store(false)
	if _, err := rt.ListMachines(context.Background(), &machinev1alpha1.ListMachinesRequest{}); err != nil {
		t.Fatalf("server unusable after a panic: %v", err)
	}

	method := machinev1alpha1.MachineRuntime_ListMachines_FullMethodName
	for _, name := range []string{"ironfed_iri_server_request_duration_seconds", "ironfed_iri_client_request_duration_seconds"} {
		for _, code := range []string{"Internal", "OK"} {
			if n := histogramCount(t, name, method, code); n == 0 {
				t.Errorf("%s{method=%q,code=%q} has no samples", name, method, code)
			}
		}
	}
}

func histogramCount(t *testing.T, name, method, code string) uint64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			if label(m, "method") == method && label(m, "code") == code {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// An open watch must not hold up shutdown until the timeout.
func TestServerStopsPromptlyWithOpenWatch(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending))
	path := filepath.Join(t.TempDir(), "w.sock")
	srv, err := NewServer(ServeOptions{SocketPath: path, Register: registerFake(f), ShutdownTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	rt := connectFake(t, "unix://"+path)
	stream, err := rt.WatchMachines(context.Background(), &machinev1alpha1.WatchMachinesRequest{SendInitialList: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %s", d)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket still exists: %v", err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
}
