package remote

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

func TestDialUnavailable(t *testing.T) {
	endpoint := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	start := time.Now()
	_, err := Dial(context.Background(), endpoint, WithDialTimeout(300*time.Millisecond))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
	for _, want := range []string{endpoint, "does not exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Dial took %s with a 300ms timeout", d)
	}
	if _, err := Dial(context.Background(), "localhost:80"); status.Code(err) != codes.InvalidArgument {
		t.Errorf("non-unix endpoint: err = %v, want InvalidArgument", err)
	}
	if _, err := Dial(context.Background(), endpoint, WithDialTimeout(-1)); err == nil {
		t.Error("negative dial timeout accepted")
	}
}

func TestNewMachineRuntimeChecksVersion(t *testing.T) {
	f := newFakeMachines()
	f.versionErr.Store(status.New(codes.Unimplemented, "no version here"))
	endpoint := serveFake(t, f)
	conn, err := Dial(context.Background(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = NewMachineRuntime(context.Background(), conn)
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "Version") {
		t.Fatalf("err = %v, want the Version failure", err)
	}
	// The wrong kind of runtime on the socket fails the same way.
	if _, err := NewVolumeRuntime(context.Background(), conn); status.Code(err) != codes.Unimplemented {
		t.Fatalf("volume client on a machine socket: err = %v, want Unimplemented", err)
	}
}

func TestCallTimeout(t *testing.T) {
	f := newFakeMachines()
	rt := connectFake(t, serveFake(t, f), WithCallTimeout(200*time.Millisecond))
	f.listBlocks.Store(true)
	start := time.Now()
	_, err := rt.ListMachines(context.Background(), &machinev1alpha1.ListMachinesRequest{})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("call took %s with a 200ms timeout", d)
	}
}

func TestIncompleteResponsesAreRejected(t *testing.T) {
	f := newFakeMachines()
	rt := connectFake(t, serveFake(t, f))
	f.createIncomplete.Store(true)
	resp, err := rt.CreateMachine(context.Background(), &machinev1alpha1.CreateMachineRequest{Machine: machine("", "c", pending)})
	if !errors.Is(err, ErrIncompleteResponse) || status.Code(err) != codes.Internal || resp != nil {
		t.Fatalf("resp, err = %v, %v; want nil and an incomplete-response error", resp, err)
	}
	f.createIncomplete.Store(false)
	resp, err = rt.CreateMachine(context.Background(), &machinev1alpha1.CreateMachineRequest{Machine: machine("", "c", pending)})
	if err != nil || resp.GetMachine().GetMetadata().GetId() != "created" {
		t.Fatalf("resp, err = %v, %v", resp, err)
	}
}

// A list beyond gRPC's 4 MiB default must pass: the IRI has no pagination.
func TestListBeyondDefaultMessageSize(t *testing.T) {
	big := machine("big", "c", pending)
	big.Spec.IgnitionData = make([]byte, 6<<20)
	f := newFakeMachines(big)
	rt := connectFake(t, serveFake(t, f))
	resp, err := rt.ListMachines(context.Background(), &machinev1alpha1.ListMachinesRequest{})
	if err != nil || len(resp.GetMachines()) != 1 {
		t.Fatalf("resp, err = %d machines, %v", len(resp.GetMachines()), err)
	}
}
