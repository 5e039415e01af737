package memory

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

const testMsgSize = 64 << 20

func newProvider(t testing.TB, mutate func(*Config)) *Provider {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

type clients struct {
	machine machinev1alpha1.MachineRuntimeClient
	volume  volumev1alpha1.VolumeRuntimeClient
	bucket  bucketv1alpha1.BucketRuntimeClient
}

// serve serves all three runtimes of p on one unix socket in dir.
func serve(t testing.TB, p *Provider, dir string) clients {
	t.Helper()
	sock := filepath.Join(dir, "iri.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(testMsgSize), grpc.MaxSendMsgSize(testMsgSize))
	machinev1alpha1.RegisterMachineRuntimeServer(srv, p.MachineServer())
	volumev1alpha1.RegisterVolumeRuntimeServer(srv, p.VolumeServer())
	bucketv1alpha1.RegisterBucketRuntimeServer(srv, p.BucketServer())
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("unix://"+sock,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(testMsgSize), grpc.MaxCallSendMsgSize(testMsgSize)))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return clients{
		machine: machinev1alpha1.NewMachineRuntimeClient(conn),
		volume:  volumev1alpha1.NewVolumeRuntimeClient(conn),
		bucket:  bucketv1alpha1.NewBucketRuntimeClient(conn),
	}
}

func newMachine(class string, lbls map[string]string) *machinev1alpha1.Machine {
	return &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: lbls},
		Spec:     &machinev1alpha1.MachineSpec{Class: class},
	}
}

func uidLabels(uid string) map[string]string {
	return map[string]string{labels.MachineUIDLabel: uid, labels.MachineNameLabel: "m-" + uid}
}

func wantKind(t testing.TB, err error, kind *runtimeerr.Error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %d", err, kind.Kind)
	}
	if err.Error() == "" {
		t.Fatalf("error of kind %d has no message", kind.Kind)
	}
}

func wantCode(t testing.TB, err error, code codes.Code) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	if st.Message() == "" {
		t.Fatalf("status %s has no message", code)
	}
}

func bg() context.Context { return context.Background() }
