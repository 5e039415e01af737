package localceph

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The cluster itself is started by the tests in providers/ceph/realceph;
// these cover what needs no daemon.

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	first, err := acquireLock(t.Context(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = acquireLock(t.Context(), path, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "only one can run per address") || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("second lock: %v; want a refusal naming the holder", err)
	}
	_ = first.Close() // closing releases the flock
	second, err := acquireLock(t.Context(), path, time.Second)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	_ = second.Close()
}

func TestConfKeepsEverythingUnderDir(t *testing.T) {
	c := conf("fsid", "/x/y", MonHost, 1<<30, 12345, false)
	for _, want := range []string{"mon host = 127.0.0.1\n", "osd objectstore = memstore", "memstore device bytes = 1073741824",
		"rgw frontends = beast endpoint=127.0.0.1:12345", "auth client required = none", "osd class load list = *"} {
		if !strings.Contains(c, want) {
			t.Errorf("ceph.conf lacks %q", want)
		}
	}
	if strings.Contains(c, "public addr") {
		t.Error("the loopback cluster's ceph.conf binds a public addr; it never did")
	}
	for _, line := range strings.Split(c, "\n") {
		if strings.Contains(line, "/") && !strings.Contains(line, "/x/y") && !strings.HasSuffix(line, "/dev/null") {
			t.Errorf("path outside the cluster dir: %q", line)
		}
	}
}

func TestStartNeedsDir(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Error("Start without a dir succeeded")
	}
}

func TestKillStaleIgnoresForeignPids(t *testing.T) {
	dir := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, "run"), 0o700)
	// Our own pid does not run dir's ceph.conf: it must survive.
	_ = os.WriteFile(filepath.Join(dir, "run", "mon.a.localceph.pid"), []byte(strconv.Itoa(os.Getpid())), 0o600)
	killStale(dir)
}

func TestConfOnAnotherAddressBindsEveryDaemonThere(t *testing.T) {
	c := conf("fsid", "/x/y", "10.250.3.1", 1<<30, 12345, false)
	for _, want := range []string{"mon host = 10.250.3.1\n", "public addr = 10.250.3.1\n", "cluster addr = 10.250.3.1\n", "rgw frontends = beast endpoint=10.250.3.1:12345"} {
		if !strings.Contains(c, want) {
			t.Errorf("ceph.conf lacks %q", want)
		}
	}
	if strings.Contains(c, "127.0.0.1") {
		t.Errorf("ceph.conf on 10.250.3.1 names loopback:\n%s", c)
	}
}

func TestEachAddressHasItsOwnLock(t *testing.T) {
	if got := withDefaults(Options{}); got.Address != MonHost || got.LockPath != DefaultLockPath {
		t.Errorf("defaults: address %q lock %q", got.Address, got.LockPath)
	}
	if got := withDefaults(Options{Address: "10.250.3.1"}).LockPath; got != "/tmp/ironfed-localceph-10.250.3.1.lock" {
		t.Errorf("lock of 10.250.3.1: %q", got)
	}
}

func TestStartRefusesABadAddress(t *testing.T) {
	for _, addr := range []string{"ceph.example", "::1", "10.0.0.300"} {
		_, err := Start(t.Context(), Options{Dir: t.TempDir(), Address: addr, LockPath: filepath.Join(t.TempDir(), "lock")})
		if err == nil || !strings.Contains(err.Error(), "not an IPv4 address") {
			t.Errorf("address %q: %v", addr, err)
		}
	}
}

// 192.0.2.1 (TEST-NET-1) is on no interface: Start says so before it starts anything.
func TestStartRefusesAnAddressNotOnThisHost(t *testing.T) {
	_, err := Start(t.Context(), Options{Dir: t.TempDir(), Address: "192.0.2.1", LockPath: filepath.Join(t.TempDir(), "lock"), NoRGW: true})
	if err == nil || !strings.Contains(err.Error(), "not assigned to an interface of this host") {
		t.Fatalf("Start on 192.0.2.1: %v", err)
	}
}
