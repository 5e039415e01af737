// Package localdaemon starts and stops the daemons a libvirt leaf needs on one host: a private libvirtd
// (its own socket directory, log and pid file) and a local OCI registry. Tests and `ironfed up --leaf
// libvirt` use it; every wait is bounded and every process is stopped by its recorded pid.
package localdaemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// Libvirtd is a private libvirtd started by StartLibvirtd.
type Libvirtd struct {
	// Dir holds libvirtd.conf, libvirtd.log, libvirtd.pid and the socket directory.
	Dir string
	// Socket is the read-write unix socket; URI is what virsh -c takes.
	Socket string
	URI    string
	// Pid is the daemon's process id.
	Pid int

	lock *os.File // the host-wide lock, held from start to Stop
}

// HostLock serialises private libvirtds on a host: privileged libvirtd keeps its state in
// /etc/libvirt/qemu and /run/libvirt whatever its config says, so a second one cannot start while one
// runs. StartLibvirtd waits for it (LockTimeout), Stop releases it.
const HostLock = "/run/ironfed-libvirtd.lock"

// LibvirtdOptions configure StartLibvirtd.
type LibvirtdOptions struct {
	// Dir is the daemon's private directory (created). Required.
	Dir string
	// Binary is the libvirtd executable; default "libvirtd" from PATH.
	Binary string
	// StartTimeout bounds the wait for the socket to answer; default 60s (the first connection after
	// an install probes QEMU's capabilities for ~11 s on a loaded machine).
	StartTimeout time.Duration
	// LockTimeout bounds the wait for another private libvirtd on this host to stop; default 15m.
	LockTimeout time.Duration
}

// StartLibvirtd starts libvirtd with a private config, or adopts the one already running from the same
// directory (its pid file names a live libvirtd whose socket answers), so it is idempotent.
//
// Privileged libvirtd keeps persistent domain definitions in /etc/libvirt/qemu and runtime state in
// /run/libvirt whatever its config says: run one private libvirtd per host at a time.
func StartLibvirtd(ctx context.Context, o LibvirtdOptions) (*Libvirtd, error) {
	if o.Dir == "" {
		return nil, errors.New("localdaemon: LibvirtdOptions.Dir is required")
	}
	if o.Binary == "" {
		o.Binary = "libvirtd"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 15 * time.Minute
	}
	bin, err := exec.LookPath(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("localdaemon: %s not found (run hack/leaf-libvirt.sh as root to install libvirt): %w", o.Binary, err)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	sockDir := filepath.Join(dir, "run")
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		return nil, err
	}
	d := &Libvirtd{Dir: dir, Socket: filepath.Join(sockDir, "libvirt-sock")}
	d.URI = "qemu:///system?socket=" + d.Socket
	pidFile := filepath.Join(dir, "libvirtd.pid")
	if pid, ok := livePid(pidFile, "libvirtd"); ok {
		d.Pid = pid
		if err := waitLibvirt(ctx, d.Socket, o.StartTimeout); err != nil {
			return nil, fmt.Errorf("localdaemon: libvirtd %d from %s is running but does not answer: %w", pid, dir, err)
		}
		return d, nil
	}
	if d.lock, err = lockHost(ctx, o.LockTimeout); err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			_ = d.lock.Close()
		}
	}()
	conf := filepath.Join(dir, "libvirtd.conf")
	logFile := filepath.Join(dir, "libvirtd.log")
	// Only unix sockets, no auth on them (the directory is 0700), a log file instead of journald.
	body := fmt.Sprintf("unix_sock_dir = %q\nunix_sock_group = \"root\"\nunix_sock_rw_perms = \"0700\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nlog_outputs = \"3:file:%s\"\n",
		sockDir, logFile)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	_ = os.Remove(pidFile)
	cmd := exec.CommandContext(ctx, bin, "-d", "-f", conf, "-p", pidFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("localdaemon: %s -d -f %s: %w: %s (see %s)", bin, conf, err, strings.TrimSpace(string(out)), logFile)
	}
	// -d daemonizes: the pid file appears once the daemon is up.
	deadline := time.Now().Add(o.StartTimeout)
	for {
		if pid, ok := livePid(pidFile, "libvirtd"); ok {
			d.Pid = pid
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("localdaemon: libvirtd wrote no pid file %s within %s (see %s)", pidFile, o.StartTimeout, logFile)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if err := waitLibvirt(ctx, d.Socket, time.Until(deadline)); err != nil {
		_ = stopPid(d.Pid, 15*time.Second)
		return nil, fmt.Errorf("localdaemon: libvirtd (pid %d) does not answer on %s: %w (see %s)", d.Pid, d.Socket, err, logFile)
	}
	started = true
	return d, nil
}

// lockHost takes HostLock, waiting up to timeout for the holder (another private libvirtd) to stop.
func lockHost(ctx context.Context, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(HostLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localdaemon: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("localdaemon: another private libvirtd holds %s for more than %s (one per host)", HostLock, timeout)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
}

// Connect opens a go-libvirt connection to the daemon.
func (d *Libvirtd) Connect() (*libvirt.Libvirt, error) { return Connect(d.Socket) }

// Connect opens a go-libvirt connection to libvirtd's read-write socket at path.
func Connect(socket string) (*libvirt.Libvirt, error) {
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(socket), dialers.WithLocalTimeout(5*time.Second)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		return nil, fmt.Errorf("connecting to libvirtd at %s: %w", socket, err)
	}
	return l, nil
}

// waitLibvirt waits until a connection to socket answers a call.
func waitLibvirt(ctx context.Context, socket string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		l, err := Connect(socket)
		if err == nil {
			_, err = l.ConnectGetLibVersion()
			_ = l.Disconnect()
			if err == nil {
				return nil
			}
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %s: %w", timeout, last)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// DestroyDomains force-stops and undefines every domain the daemon knows whose name passes keep
// (nil: all). Tests call it before Stop, because QEMU processes outlive libvirtd.
func (d *Libvirtd) DestroyDomains(keep func(name string) bool) error {
	l, err := d.Connect()
	if err != nil {
		return err
	}
	defer func() { _ = l.Disconnect() }()
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return err
	}
	var errs []error
	for _, dom := range doms {
		if keep != nil && !keep(dom.Name) {
			continue
		}
		if st, _, err := l.DomainGetState(dom, 0); err == nil && libvirt.DomainState(st) != libvirt.DomainShutoff {
			if err := l.DomainDestroy(dom); err != nil {
				errs = append(errs, fmt.Errorf("destroying %s: %w", dom.Name, err))
			}
		}
		if err := l.DomainUndefineFlags(dom, libvirt.DomainUndefineNvram|libvirt.DomainUndefineManagedSave); err != nil &&
			!libvirt.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("undefining %s: %w", dom.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Stop terminates the daemon by pid (SIGTERM, then SIGKILL after 15 s). QEMU processes of running
// domains survive it; see DestroyDomains.
func (d *Libvirtd) Stop() error {
	err := stopPid(d.Pid, 15*time.Second)
	if d.lock != nil {
		_ = d.lock.Close()
		d.lock = nil
	}
	return err
}

// livePid reads a pid file and reports whether that process runs and its command name contains comm.
func livePid(pidFile, comm string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.Contains(string(c), comm) {
		return 0, false
	}
	return pid, true
}

// stopPid sends SIGTERM to pid and waits up to grace for it to exit, then SIGKILLs it.
func stopPid(pid int, grace time.Duration) error {
	if pid <= 0 {
		return nil
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = p.Signal(syscall.SIGKILL)
	for i := 0; i < 100 && alive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(pid) {
		return fmt.Errorf("process %d survived SIGKILL", pid)
	}
	return nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
