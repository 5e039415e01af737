package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

// fakeRuntime is a minimal machine runtime without the watch extension,
// like an upstream provider.
type fakeRuntime struct {
	machinev1alpha1.UnimplementedMachineRuntimeServer
	mu       sync.Mutex
	machines []*machinev1alpha1.Machine
}

func (f *fakeRuntime) Version(context.Context, *machinev1alpha1.VersionRequest) (*machinev1alpha1.VersionResponse, error) {
	return &machinev1alpha1.VersionResponse{RuntimeName: "fake", RuntimeVersion: "0.0.1"}, nil
}

func (f *fakeRuntime) ListMachines(_ context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*machinev1alpha1.Machine
	for _, m := range f.machines {
		if id := req.GetFilter().GetId(); id != "" && id != m.GetMetadata().GetId() {
			continue
		}
		match := true
		for k, v := range req.GetFilter().GetLabelSelector() {
			match = match && m.GetMetadata().GetLabels()[k] == v
		}
		if match {
			out = append(out, m)
		}
	}
	return &machinev1alpha1.ListMachinesResponse{Machines: out}, nil
}

func (f *fakeRuntime) CreateMachine(_ context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error) {
	if c := req.GetMachine().GetSpec().GetClass(); c != "small" {
		return nil, status.Errorf(codes.InvalidArgument, "machine class %q is not supported", c)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := req.GetMachine()
	m.Metadata.Id = "new-1"
	f.machines = append(f.machines, m)
	return &machinev1alpha1.CreateMachineResponse{Machine: m}, nil
}

func (f *fakeRuntime) Status(context.Context, *machinev1alpha1.StatusRequest) (*machinev1alpha1.StatusResponse, error) {
	return &machinev1alpha1.StatusResponse{MachineClassStatus: []*machinev1alpha1.MachineClassStatus{{
		MachineClass: &machinev1alpha1.MachineClass{Name: "small", Capabilities: &machinev1alpha1.MachineClassCapabilities{
			Resources: map[string]int64{"cpu": 2, "memory": 4 << 30}}},
		Quantity: 10,
	}}}, nil
}

func serve(t *testing.T, f *fakeRuntime) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.sock")
	srv, err := remote.NewServer(remote.ServeOptions{
		SocketPath: path,
		Register:   func(s *grpc.Server) { machinev1alpha1.RegisterMachineRuntimeServer(s, f) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return "unix://" + path
}

func sampleRuntime() *fakeRuntime {
	created := time.Now().Add(-90 * time.Minute).UnixNano()
	return &fakeRuntime{machines: []*machinev1alpha1.Machine{
		{
			Metadata: &metav1alpha1.ObjectMetadata{Id: "m-1", CreatedAt: created,
				Labels: map[string]string{"a": "1", "b": "2", "c": "3"}},
			Spec:   &machinev1alpha1.MachineSpec{Class: "small"},
			Status: &machinev1alpha1.MachineStatus{State: machinev1alpha1.MachineState_MACHINE_RUNNING},
		},
		{
			Metadata: &metav1alpha1.ObjectMetadata{Id: "m-2", CreatedAt: created, Labels: map[string]string{"a": "2"}},
			Spec:     &machinev1alpha1.MachineSpec{Class: "small"},
			Status:   &machinev1alpha1.MachineStatus{},
		},
	}}
}

// lockedBuffer lets a test read output while a watch writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func irictl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestListTable(t *testing.T) {
	addr := serve(t, sampleRuntime())
	code, out, errOut := irictl(t, "machine", "list", "--address", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := [][]string{
		{"ID", "CLASS", "STATE", "LABELS", "AGE"},
		{"m-1", "small", "RUNNING", "a=1,b=2,+1", "more", "90m"},
		{"m-2", "small", "PENDING", "a=2", "90m"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		if got := strings.Fields(l); strings.Join(got, " ") != strings.Join(want[i], " ") {
			t.Errorf("line %d = %q, want fields %q", i, l, want[i])
		}
	}

	code, out, _ = irictl(t, "machine", "list", "--address", addr, "-l", "a=2")
	if code != 0 || strings.Contains(out, "m-1") || !strings.Contains(out, "m-2") {
		t.Errorf("label filter: exit %d, output:\n%s", code, out)
	}
}

func TestListJSONAndYAML(t *testing.T) {
	addr := serve(t, sampleRuntime())
	code, out, errOut := irictl(t, "machine", "list", "--address", addr, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var resp machinev1alpha1.ListMachinesResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("output is not a ListMachinesResponse: %v\n%s", err, out)
	}
	if len(resp.GetMachines()) != 2 || resp.GetMachines()[1].GetStatus().GetState() != machinev1alpha1.MachineState_MACHINE_PENDING {
		t.Errorf("decoded %v", &resp)
	}
	if !strings.Contains(out, `"state": "MACHINE_PENDING"`) {
		t.Errorf("zero-valued state is left out:\n%s", out)
	}
	code, out, _ = irictl(t, "machine", "get", "m-2", "--address", addr, "-o", "yaml")
	if code != 0 || !strings.Contains(out, "id: m-2") || strings.Contains(out, "m-1") {
		t.Errorf("get -o yaml: exit %d:\n%s", code, out)
	}
}

func TestErrorsAreReadable(t *testing.T) {
	addr := serve(t, sampleRuntime())
	file := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(file, []byte("metadata:\n  labels: {app: web}\nspec:\n  class: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"machine", "create", "-f", file, "--address", addr},
			"irictl: CreateMachine: InvalidArgument: machine class \"x\" is not supported\n"},
		{[]string{"machine", "get", "nope", "--address", addr}, "irictl: NotFound: machine \"nope\" not found\n"},
		{[]string{"volume", "list", "--address", addr}, "irictl: " + addr + ": Unimplemented: checking the volume runtime with Version: unknown service volume.v1alpha1.VolumeRuntime\n"},
		{[]string{"machine", "list", "--address", "tcp://localhost:1"}, "scheme \"tcp\" is not supported"},
		{[]string{"machine", "list", "--address", "unix:///nonexistent/x.sock", "--timeout", "200ms"}, "irictl: Unavailable: IRI endpoint unix:///nonexistent/x.sock: not ready within 200ms"},
		{[]string{"machine", "create", "-f", filepath.Join(t.TempDir(), "missing.json"), "--address", addr}, "no such file"},
		{[]string{"machine", "list", "-o", "xml"}, "--output \"xml\": want table, json or yaml"},
		{[]string{"machine", "get"}, "machine get: want exactly one argument, the ID, got 0"},
		{[]string{"network", "list"}, "unknown IRI runtime kind \"network\""},
		{[]string{"machine"}, "machine: want a command"},
	} {
		code, out, errOut := irictl(t, tc.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("irictl %q: exit %d, stdout %q, stderr %q; want exit 1 and one line containing %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestCreateFromFile(t *testing.T) {
	f := sampleRuntime()
	addr := serve(t, f)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"machine": {"spec": {"clas": "small"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := irictl(t, "machine", "create", "-f", bad, "--address", addr)
	if code != 1 || !strings.Contains(errOut, `unknown field "clas"`) {
		t.Errorf("typo in file: exit %d, %q", code, errOut)
	}
	good := filepath.Join(dir, "req.json")
	if err := os.WriteFile(good, []byte(`{"machine": {"metadata": {"labels": {"app": "web"}}, "spec": {"class": "small"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := irictl(t, "machine", "create", "-f", good, "--address", addr, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m machinev1alpha1.Machine
	if err := protojson.Unmarshal([]byte(out), &m); err != nil || m.GetMetadata().GetId() != "new-1" {
		t.Errorf("created machine = %v, %v", &m, err)
	}
}

func TestStatus(t *testing.T) {
	addr := serve(t, sampleRuntime())
	code, out, errOut := irictl(t, "machine", "status", "--address", addr)
	if code != 0 || !strings.Contains(out, "cpu=2,memory=4294967296") || !strings.Contains(out, "10") {
		t.Errorf("exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
}

// The fake has no watch, so irictl falls back to polling.
func TestWatchPollsWithoutWatchExtension(t *testing.T) {
	addr := serve(t, sampleRuntime())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"machine", "watch", "--address", addr, "-o", "json", "--relist-period", "50ms"}, &out, &errOut)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "SYNCED") {
		if time.Now().After(deadline) {
			t.Fatalf("no SYNCED event; stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var types []string
	for _, l := range lines {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		types = append(types, ev.Type)
	}
	if strings.Join(types, ",") != "ADDED,ADDED,SYNCED" {
		t.Errorf("event types = %v", types)
	}
	if !strings.Contains(errOut.String(), "mode: poll") {
		t.Errorf("stderr does not mention poll mode: %q", errOut.String())
	}
}

func TestWatchPrinterYAMLIsValid(t *testing.T) {
	var out bytes.Buffer
	p := &watchPrinter{c: &cli{output: "yaml", stdout: &out}}
	m := sampleRuntime().machines[0]
	if err := p.event(remote.Added, m, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.event(remote.Synced, nil, nil); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(strings.TrimPrefix(out.String(), "---\n"), "---\n")
	if len(docs) != 2 {
		t.Fatalf("got %d documents:\n%s", len(docs), out.String())
	}
	var ev struct {
		Type   string `json:"type"`
		Object struct {
			Metadata struct {
				ID string `json:"id"`
			} `json:"metadata"`
		} `json:"object"`
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &ev); err != nil || ev.Type != "ADDED" || ev.Object.Metadata.ID != "m-1" {
		t.Errorf("first document %q decodes to %+v, %v", docs[0], ev, err)
	}
	if strings.TrimSpace(docs[1]) != "type: SYNCED" {
		t.Errorf("second document = %q", docs[1])
	}
}
