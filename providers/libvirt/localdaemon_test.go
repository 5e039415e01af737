package libvirt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
)

// TestLocalLibvirtd checks localdaemon against the package's libvirtd (TestMain started it; a second
// private libvirtd cannot run on the same host): a start on the same directory adopts the running
// daemon, a start elsewhere waits for the host lock and gives up after its timeout. TestMain checks Stop.
func TestLocalLibvirtd(t *testing.T) {
	needDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	again, err := localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: daemon.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.Pid != daemon.Pid || again.Socket != daemon.Socket {
		t.Errorf("a second start on %s ran libvirtd %d instead of adopting %d", daemon.Dir, again.Pid, daemon.Pid)
	}
	_, err = localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: shortTempDir(t), LockTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), localdaemon.HostLock) {
		t.Errorf("a second private libvirtd on the host: %v; want a wait on %s that times out", err, localdaemon.HostLock)
	}
	l, err := daemon.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Disconnect() }()
	v, err := l.ConnectGetLibVersion()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("libvirt %d.%d.%d, pid %d, %s", v/1000000, v/1000%1000, v%1000, daemon.Pid, daemon.URI)
}
