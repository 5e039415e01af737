package localdaemon_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
)

// TestLibvirtd starts a private libvirtd, adopts it on a second start and stops it by pid.
func TestLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	d, err := localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Stop() }()
	l, err := d.Connect()
	if err != nil {
		t.Fatal(err)
	}
	v, err := l.ConnectGetLibVersion()
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Disconnect()
	t.Logf("libvirt %d.%d.%d, pid %d, %s", v/1000000, v/1000%1000, v%1000, d.Pid, d.URI)
	again, err := localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.Pid != d.Pid {
		t.Errorf("second start ran a new daemon %d instead of adopting %d", again.Pid, d.Pid)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	// Stop returns once the process is gone or a zombie; its parent (init) reaps it shortly after.
	for i := 0; ; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(d.Pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			break
		}
		if i == 100 {
			t.Fatalf("libvirtd %d still runs after Stop", d.Pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRegistry starts the local registry (IRONFED_REGISTRY_BIN, from hack/leaf-libvirt.sh) and stops it.
func TestRegistry(t *testing.T) {
	r := StartTestRegistry(t)
	if r.Host == "" {
		t.Fatal("no host")
	}
}

// StartTestRegistry starts a registry for the test and stops it at cleanup.
func StartTestRegistry(t *testing.T) *localdaemon.Registry {
	t.Helper()
	bin := os.Getenv("IRONFED_REGISTRY_BIN")
	if bin == "" {
		t.Fatal("IRONFED_REGISTRY_BIN is not set: run `make test`, or hack/leaf-libvirt.sh and export what it prints")
	}
	r, err := localdaemon.StartRegistry(context.Background(), localdaemon.RegistryOptions{Dir: t.TempDir(), Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return r
}
