package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/memory"
)

// serveMachines serves a memory machine runtime and returns its socket.
func serveMachines(t *testing.T) string {
	t.Helper()
	p, err := memory.New(memory.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "m.sock")
	srv, err := remote.NewServer(remote.ServeOptions{SocketPath: sock, Logger: logr.Discard(), Register: func(s *grpc.Server) {
		machinev1alpha1.RegisterMachineRuntimeServer(s, p.MachineServer())
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; p.Close() })
	return sock
}

func TestRunReportsAndExitCodes(t *testing.T) {
	sock := serveMachines(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--machine-endpoint", "unix://" + sock, "--focus", "^machine/(version|list-filter)$"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "PASS machine/version") || !strings.Contains(out.String(), "2 passed, 0 failed, 0 skipped") {
		t.Fatalf("exit %d, output:\n%s%s", code, out.String(), errOut.String())
	}

	// The machine socket serves no bucket runtime: the bucket cases fail.
	out.Reset()
	code = run(context.Background(), []string{"--bucket-endpoint", sock, "--focus", "^bucket/version$"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "FAIL bucket/version") || !strings.Contains(out.String(), "0 passed, 1 failed, 0 skipped") {
		t.Fatalf("exit %d, output:\n%s", code, out.String())
	}

	out.Reset()
	code = run(context.Background(), []string{"--machine-endpoint", sock, "--volume-endpoint", "", "--focus", "^volume/version$"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "SKIP volume/version") || !strings.Contains(out.String(), "skipped: no volume runtime endpoint") {
		t.Fatalf("exit %d, output:\n%s", code, out.String())
	}

	if code := run(context.Background(), nil, &out, &errOut); code != 2 {
		t.Errorf("without endpoints: exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"--machine-endpoint", sock, "--focus", "("}, &out, &errOut); code != 2 {
		t.Errorf("bad focus: exit %d, want 2", code)
	}
}
