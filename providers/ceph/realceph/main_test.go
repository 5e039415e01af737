package realceph

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/ironfed/ironfed/providers/ceph/localceph"
)

var (
	cluster  *localceph.Cluster
	startErr error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// make test-short: tests that need no daemon.
		startErr = fmt.Errorf("-short: no Ceph started")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ironfed-ceph-")
	if err != nil {
		startErr = err
		return m.Run()
	}
	cluster, startErr = localceph.Start(context.Background(), localceph.Options{
		Dir:   dir,
		Cephx: true, // so that the restricted client user is tested for real
		Logf:  func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
	})
	if startErr == nil {
		fmt.Fprintf(os.Stderr, "localceph: up in %s (%v)\n", cluster.Timings["total"], cluster.Timings)
	}
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
		if code == 0 {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "localceph: logs kept in %s\n", dir)
		}
	}
	return code
}

// needCluster fails the test when the cluster did not start: a missing
// daemon is a failure, never a skip (except under -short, which promises
// tests without daemons).
func needCluster(t *testing.T) *localceph.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: needs a real Ceph")
	}
	if startErr != nil {
		t.Fatalf("the one-node Ceph did not start: %v", startErr)
	}
	return cluster
}
