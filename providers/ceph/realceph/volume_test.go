package realceph

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"

	"github.com/ironfed/ironfed/iri/conformance"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/ceph/volume"
	"github.com/ironfed/ironfed/providers/ceph/volume/rbd"
)

// openVolumes connects a volume runtime to the test cluster's pool.
func openVolumes(t *testing.T) (*volume.Volumes, rbd.Conn) {
	t.Helper()
	c := needCluster(t)
	conn, err := rbd.Open(t.Context(), rbd.Options{Monitors: c.MonAddrs, Pool: c.Pool, Key: c.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	v, err := volume.New(t.Context(), conn, volume.Options{Classes: objstore.DefaultClasses().VolumeClasses, Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v, conn
}

// serve serves register on a unix socket until the test ends.
func serve(t *testing.T, name string, register func(*grpc.Server)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".sock")
	srv, err := remote.NewServer(remote.ServeOptions{SocketPath: path, Register: register, Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving %s: %v", name, err)
		}
	})
	return "unix://" + path
}

func TestVolumeConformance(t *testing.T) {
	v, _ := openVolumes(t)
	cfg := conformance.Config{
		VolumeEndpoint: serve(t, "volume", v.Register),
		Focus:          "^volume/",
		WaitTimeout:    30 * time.Second,
		PollInterval:   50 * time.Millisecond,
	}
	rep := conformance.RunTests(t, cfg)
	if rep.Skipped > 0 {
		t.Errorf("%d volume cases skipped; the RBD runtime must support all", rep.Skipped)
	}
	if rep.Passed == 0 {
		t.Error("no case passed")
	}
	t.Log(rep.Totals())
	// The hostile-input probe (issue 18): precise codes, nothing half-created, with real RBD images.
	if rep := conformance.RunSuiteTests(t, cfg, conformance.HostileSuite()); rep.Passed != 1 {
		t.Errorf("hostile inputs: %s", rep.Totals())
	}
}
