package libvirt_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc"

	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/libvirt"
	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
)

// daemon is the package's private libvirtd, started once by TestMain; nil when -short.
var daemon *localdaemon.Libvirtd

// testRoots are the root directories (= owners) of every provider the tests started: TestMain removes
// their domains at the end, and only theirs.
var testRoots = map[string]bool{}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testingShort() {
		return m.Run()
	}
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "ironfed-libvirt-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Long enough to wait out providers/ceph/realceph's libvirt leaf (go test runs packages in
	// parallel; one private libvirtd per host).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	daemon, err = localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: filepath.Join(dir, "libvirtd")})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: starting libvirtd (install it with hack/leaf-libvirt.sh as root): %v\n", err)
		return 1
	}
	// Privileged libvirtd keeps domain definitions in /etc/libvirt/qemu: those of an earlier run that
	// was killed (go test's timeout panics past every cleanup) come back with this daemon.
	if err := daemon.DestroyDomains(staleTestDomain); err != nil {
		fmt.Fprintln(os.Stderr, "removing domains of earlier runs:", err)
	}
	// An interrupted run still removes its domains and stops its libvirtd.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cleanupDaemon()
		os.Exit(1)
	}()
	// A hung test would hold the host's one libvirtd until go test's timeout, which skips the cleanup
	// and starves providers/ceph/realceph waiting for the host lock: end it earlier, with the stacks
	// that show where it hung.
	watchdog := time.AfterFunc(packageDeadline, func() {
		buf := make([]byte, 1<<22)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "FAIL: providers/libvirt tests still running after %s; goroutines:\n%s\n", packageDeadline, buf)
		cleanupDaemon()
		os.Exit(1)
	})
	defer watchdog.Stop()
	code := m.Run()
	if !cleanupDaemon() && code == 0 {
		code = 1
	}
	return code
}

// cleanupDaemon removes the tests' domains and stops libvirtd by pid; false if it survived.
func cleanupDaemon() bool {
	if err := daemon.DestroyDomains(func(name string) bool { return ownedByTest(name) }); err != nil {
		fmt.Fprintln(os.Stderr, "cleaning up domains:", err)
	}
	if err := daemon.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping libvirtd:", err)
		return false
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", daemon.Pid)); err == nil {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", daemon.Pid)); !strings.Contains(string(b), "zombie") {
			fmt.Fprintf(os.Stderr, "FAIL: libvirtd %d still runs after Stop\n", daemon.Pid)
			return false
		}
	}
	return true
}

func testingShort() bool {
	for _, a := range os.Args {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

// packageDeadline bounds the package's run: it takes 2.5–4 min on 2 loaded cores.
const packageDeadline = 12 * time.Minute

var ownerAttr = regexp.MustCompile(`owner=["']([^"']+)["']`)

// staleTestDomain reports whether the domain belongs to a provider of an earlier test run whose
// root directory (a shortTempDir) is gone.
func staleTestDomain(name string) bool {
	x, ok := domainXML(name)
	if !ok {
		return false
	}
	m := ownerAttr.FindStringSubmatch(x)
	if m == nil || !strings.HasPrefix(m[1], filepath.Join(os.TempDir(), "lv-")) {
		return false
	}
	_, err := os.Stat(m[1])
	return errors.Is(err, fs.ErrNotExist)
}

func domainXML(name string) (string, bool) {
	l, err := daemon.Connect()
	if err != nil {
		return "", false
	}
	defer func() { _ = l.Disconnect() }()
	dom, err := l.DomainLookupByName(name)
	if err != nil {
		return "", false
	}
	x, err := l.DomainGetXMLDesc(dom, 0)
	return x, err == nil
}

// ownedByTest reports whether the domain belongs to a provider a test started (its metadata owner).
func ownedByTest(name string) bool {
	x, ok := domainXML(name)
	if !ok {
		return false
	}
	for root := range testRoots {
		if strings.Contains(x, fmt.Sprintf("owner=%q", root)) || strings.Contains(x, "owner='"+root+"'") {
			return true
		}
	}
	return false
}

// needDaemon fails the test when the package's libvirtd is missing (never skips).
func needDaemon(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs libvirtd and QEMU; runs without -short")
	}
	if daemon == nil {
		t.Fatal("libvirtd did not start (see TestMain's output)")
	}
}

// testClasses is one small class; the CPU budget (2 host CPUs × 2) holds 4 of them, so the
// conformance suite's parallel creates start 4 domains, not 50.
var testClasses = []libvirt.MachineClass{{Name: "tcg-small", CPU: 1, MemoryBytes: 128 << 20}}

type served struct {
	p        *libvirt.Provider
	endpoint string
	stop     func()
}

var sockets int

// startProvider starts a provider on root (created) and serves it on a unix socket and an exec server.
func startProvider(t *testing.T, root string, mutate func(*libvirt.Config)) *served {
	t.Helper()
	execLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := libvirt.Config{
		Socket: daemon.Socket, RootDir: root, DomainType: libvirt.DomainTypeAuto,
		Classes: testClasses, CPUOvercommit: 2, ReservedMemoryBytes: 1 << 30,
		ShutdownTimeout: 3 * time.Second, ResyncPeriod: 5 * time.Second,
		ExecBaseURL: "http://" + execLis.Addr().String(), Log: testr.New(t),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	abs, _ := filepath.Abs(root)
	testRoots[abs] = true
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := libvirt.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	execSrv := &http.Server{Handler: p.ExecHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = execSrv.Serve(execLis) }()
	sockets++
	sock := filepath.Join(root, fmt.Sprintf("iri-%d.sock", sockets))
	srv, err := remote.NewServer(remote.ServeOptions{SocketPath: sock, Register: func(s *grpc.Server) { p.Register(s) }, Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	stopped := false
	shutdown := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		<-done
		_ = execSrv.Close()
		p.Close()
	}
	t.Cleanup(shutdown)
	return &served{p: p, endpoint: "unix://" + sock, stop: shutdown}
}

// shortTempDir is a temp dir with a short path (sockets live in it).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
