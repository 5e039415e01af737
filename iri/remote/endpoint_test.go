package remote

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSocketPath(t *testing.T) {
	long := "/" + strings.Repeat("x", maxSocketPathLen)
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "unix:///run/a.sock", want: "/run/a.sock"},
		{in: "unix:/run/a.sock", want: "/run/a.sock"},
		{in: "/run/a.sock", want: "/run/a.sock"},
		{in: "/run//x/../a.sock", want: "/run/a.sock"},
		{in: "", err: "empty"},
		{in: "unix://run/a.sock", err: "three slashes"},
		{in: "unix:run/a.sock", err: "must be absolute"},
		{in: "run/a.sock", err: "absolute unix socket path"},
		{in: "tcp://127.0.0.1:80", err: `scheme "tcp" is not supported`},
		{in: "dns:///iri:80", err: `scheme "dns" is not supported`},
		{in: long, err: "unix sockets allow at most"},
	} {
		got, err := SocketPath(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("SocketPath(%q) error = %v, want one containing %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("SocketPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// listenSocket creates a socket file at path for as long as the test runs.
func listenSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
}

func useWellKnownDir(t *testing.T) string {
	dir := t.TempDir()
	old := WellKnownSocketDir
	WellKnownSocketDir = dir
	t.Cleanup(func() { WellKnownSocketDir = old })
	return dir
}

func TestResolveEndpoint(t *testing.T) {
	ctx := context.Background()
	dir := useWellKnownDir(t)

	t.Setenv("IRI_MACHINE_RUNTIME_ENDPOINT", "")
	got, err := ResolveEndpoint(ctx, KindMachine, "unix:/flag.sock", 0)
	if err != nil || got != "unix:///flag.sock" {
		t.Errorf("flag: got %q, %v", got, err)
	}
	if _, err := ResolveEndpoint(ctx, KindMachine, "tcp://x:1", 0); err == nil || !strings.Contains(err.Error(), "endpoint flag") {
		t.Errorf("bad flag: err = %v, want one naming the flag", err)
	}

	t.Setenv("IRI_VOLUME_RUNTIME_ENDPOINT", "/env.sock")
	got, err = ResolveEndpoint(ctx, KindVolume, "", 0)
	if err != nil || got != "unix:///env.sock" {
		t.Errorf("env: got %q, %v", got, err)
	}
	t.Setenv("IRI_VOLUME_RUNTIME_ENDPOINT", "relative.sock")
	if _, err := ResolveEndpoint(ctx, KindVolume, "", 0); err == nil || !strings.Contains(err.Error(), "IRI_VOLUME_RUNTIME_ENDPOINT") {
		t.Errorf("bad env: err = %v, want one naming the variable", err)
	}

	// Well-known sockets: provider alone, then broker preferred.
	t.Setenv("IRI_BUCKET_RUNTIME_ENDPOINT", "")
	provider := filepath.Join(dir, "iri-bucketprovider.sock")
	listenSocket(t, provider)
	got, err = ResolveEndpoint(ctx, KindBucket, "", 0)
	if err != nil || got != "unix://"+provider {
		t.Errorf("provider: got %q, %v", got, err)
	}
	broker := filepath.Join(dir, "iri-bucketbroker.sock")
	listenSocket(t, broker)
	got, err = ResolveEndpoint(ctx, KindBucket, "", 0)
	if err != nil || got != "unix://"+broker {
		t.Errorf("broker: got %q, %v", got, err)
	}

	if _, err := ResolveEndpoint(ctx, Kind("network"), "", 0); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestResolveEndpointWaitsForSocket(t *testing.T) {
	dir := useWellKnownDir(t)
	t.Setenv("IRI_MACHINE_RUNTIME_ENDPOINT", "")
	path := filepath.Join(dir, "iri-machineprovider.sock")
	listening := make(chan net.Listener, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Error(err)
		}
		listening <- l
	}()
	t.Cleanup(func() {
		if l := <-listening; l != nil {
			_ = l.Close()
		}
	})
	got, err := ResolveEndpoint(context.Background(), KindMachine, "", 5*time.Second)
	if err != nil || got != "unix://"+path {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestResolveEndpointTimeoutNamesWhatWasTried(t *testing.T) {
	dir := useWellKnownDir(t)
	t.Setenv("IRI_MACHINE_RUNTIME_ENDPOINT", "")
	// A regular file is not a socket and must not be picked.
	if err := os.WriteFile(filepath.Join(dir, "iri-machinebroker.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := ResolveEndpoint(context.Background(), KindMachine, "", 300*time.Millisecond)
	if err == nil {
		t.Fatal("no error")
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("gave up after %s, before the discovery timeout", time.Since(start))
	}
	for _, want := range []string{"IRI_MACHINE_RUNTIME_ENDPOINT", "iri-machinebroker.sock", "iri-machineprovider.sock", "300ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
