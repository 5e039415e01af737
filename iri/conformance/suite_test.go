package conformance_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/conformance"
)

// upstreamLike behaves like runtimes the suite must catch: no watch, no
// console, NotFound for deletes and lists of missing ids.
type upstreamLike struct {
	machinev1alpha1.MachineRuntimeServer
}

func (upstreamLike) WatchMachines(*machinev1alpha1.WatchMachinesRequest, grpc.ServerStreamingServer[machinev1alpha1.WatchMachinesEvent]) error {
	return status.Error(codes.Unimplemented, "method WatchMachines not implemented")
}

func (upstreamLike) Exec(context.Context, *machinev1alpha1.ExecRequest) (*machinev1alpha1.ExecResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method Exec not implemented")
}

func (u upstreamLike) ListMachines(ctx context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	resp, err := u.MachineRuntimeServer.ListMachines(ctx, req)
	if err == nil && req.GetFilter().GetId() != "" && len(resp.Machines) == 0 {
		return nil, status.Errorf(codes.NotFound, "machine %s not found", req.GetFilter().GetId())
	}
	return resp, err
}

func (u upstreamLike) DeleteMachine(ctx context.Context, req *machinev1alpha1.DeleteMachineRequest) (*machinev1alpha1.DeleteMachineResponse, error) {
	resp, err := u.MachineRuntimeServer.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: req.GetMachineId()}})
	if err == nil && len(resp.Machines) == 0 {
		return nil, status.Errorf(codes.NotFound, "machine %s not found", req.GetMachineId())
	}
	return u.MachineRuntimeServer.DeleteMachine(ctx, req)
}

// TestSuiteCatchesFaults checks the suite itself: a runtime with known
// faults fails exactly the cases about them, and missing extensions are
// skipped as not supported, never passed.
func TestSuiteCatchesFaults(t *testing.T) {
	cfg := serveMemory(t, 0, func(s machinev1alpha1.MachineRuntimeServer) machinev1alpha1.MachineRuntimeServer {
		return upstreamLike{s}
	})
	cfg.Focus = "^machine/"
	var progress bytes.Buffer
	rep, err := conformance.Run(context.Background(), cfg, conformance.DefaultSuite(), &progress)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]conformance.Outcome{
		"machine/watch":                    conformance.Skip,
		"machine/exec":                     conformance.Skip,
		"machine/delete-missing-succeeds":  conformance.Fail,
		"machine/list-unknown-id-is-empty": conformance.Fail,
		"machine/create-list-delete":       conformance.Fail, // deletes twice
		"machine/list-filter":              conformance.Fail, // id plus a label matching nothing
		"machine/version":                  conformance.Pass,
		"machine/power-off-on":             conformance.Pass,
	}
	got := map[string]conformance.Result{}
	for _, r := range rep.Results {
		got[r.Name] = r
		if !strings.HasPrefix(r.Name, "machine/") {
			t.Errorf("focus let %s through", r.Name)
		}
	}
	for name, outcome := range want {
		if got[name].Outcome != outcome {
			t.Errorf("%s: %s (%s), want %s", name, got[name].Outcome, got[name].Reason, outcome)
		}
	}
	if r := got["machine/watch"]; !strings.HasPrefix(r.Reason, "not supported") {
		t.Errorf("watch skip reason %q, want it to say not supported", r.Reason)
	}
	if rep.Failed != 4 || rep.Skipped != 2 || rep.Passed != len(rep.Results)-6 {
		t.Errorf("totals %s, want 4 failed and 2 skipped", rep.Totals())
	}
	var full bytes.Buffer
	if _, err := rep.WriteTo(&full); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"FAIL machine/delete-missing-succeeds", "skipped: not supported", rep.Totals()} {
		if !strings.Contains(full.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, full.String())
		}
	}
	if !strings.Contains(progress.String(), "PASS machine/version") {
		t.Errorf("progress output lacks the version case:\n%s", progress.String())
	}
}

func TestSelect(t *testing.T) {
	all := conformance.DefaultSuite()
	names := map[string]bool{}
	for _, k := range all {
		if names[k.FullName()] {
			t.Errorf("duplicate case name %s", k.FullName())
		}
		names[k.FullName()] = true
	}
	vol, err := all.Select("^volume/", "snapshots")
	if err != nil {
		t.Fatal(err)
	}
	if len(vol) == 0 {
		t.Fatal("no volume case selected")
	}
	for _, k := range vol {
		if k.Runtime != conformance.Volume || k.Name == "snapshots" {
			t.Errorf("selected %s", k.FullName())
		}
	}
	if _, err := all.Select("(", ""); err == nil {
		t.Error("a bad focus pattern was accepted")
	}
}
