// Package localceph starts and stops a private one-node Ceph cluster: a
// mon, a mgr, one RAM-backed (memstore) OSD and a radosgw on a free
// loopback port, with an RBD pool and an RGW admin user ready. Every path
// (data, logs, pid files, admin sockets) lives under one directory; every
// wait is bounded; daemons are stopped by pid.
//
// The mon must listen on Ceph's default ports, so only one such cluster can
// run per address at a time: Start takes a lock file of its address
// (127.0.0.1: a machine-wide one) and waits for it (bounded). By default
// everything binds 127.0.0.1; Options.Address binds another local address
// instead (e.g. a bridge's, for pods behind it), beside a loopback cluster.
// Tests and `ironfed up --leaf` use this package; it needs the Debian
// packages hack/leaf-ceph.sh installs.
package localceph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of Options.
const (
	// DefaultLockPath is the lock of the cluster on 127.0.0.1; one on another
	// address locks /tmp/ironfed-localceph-<address>.lock.
	DefaultLockPath      = "/tmp/ironfed-localceph.lock"
	DefaultMemstoreBytes = int64(2) << 30
	DefaultPool          = "rbd"
	DefaultStartTimeout  = 3 * time.Minute
	DefaultStopGrace     = 10 * time.Second
	DefaultLockTimeout   = 5 * time.Minute
	// AdminUID is the RGW user with admin-ops caps that Start creates.
	AdminUID = "ironfed-admin"
	// AdminCaps are the caps of AdminUID (Pacific refuses info=read).
	AdminCaps = "users=*;buckets=*;usage=read;metadata=read"
)

// Options configures Start. Only Dir is required.
type Options struct {
	// Dir holds everything of the cluster; it is wiped on Start.
	Dir string
	// MemstoreBytes is the OSD's RAM-backed capacity (default 2 GiB); RAM
	// is used only for what is written.
	MemstoreBytes int64
	// Pool is the RBD pool to create and init (default "rbd").
	Pool string
	// Address is the local IPv4 address the mon (default ports), mgr, OSD
	// and radosgw bind, and clients are given (default MonHost, 127.0.0.1).
	// It must be assigned to an interface of this host.
	Address string
	// NoRGW skips radosgw and the admin user.
	NoRGW bool
	// Cephx runs the cluster with cephx authentication instead of auth
	// none; AdminKey is then client.admin's key. (QEMU disks then need
	// <auth>; without Cephx they need none.)
	Cephx bool
	// LockPath is the lock file of Address (default DefaultLockPath for
	// 127.0.0.1, /tmp/ironfed-localceph-<Address>.lock otherwise).
	LockPath string
	// LockTimeout bounds waiting for another cluster to stop (default 5m).
	LockTimeout time.Duration
	// StartTimeout bounds the whole start once the lock is held (default 3m).
	StartTimeout time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL
	// (default 10s). A daemon whose address has gone (a deleted bridge)
	// never ends by itself: radosgw waits for the cluster. Memstore keeps
	// nothing worth a clean shutdown, so a short grace loses nothing but
	// the last log lines.
	StopGrace time.Duration
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)
}

// Cluster is a running one-node cluster.
type Cluster struct {
	// Dir and ConfPath: the private directory and its ceph.conf.
	Dir, ConfPath string
	// MonAddrs is the monitor address list clients get ("<Address>:6789").
	MonAddrs string
	// Pool is the initialised RBD pool.
	Pool string
	// RGWEndpoint is radosgw's URL ("http://<Address>:<port>"); empty with NoRGW.
	RGWEndpoint string
	// AdminAccessKey and AdminSecretKey belong to AdminUID. Secret: never log.
	AdminAccessKey, AdminSecretKey string
	// AdminKey is client.admin's cephx key (only with Options.Cephx). Secret.
	AdminKey string
	// Timings records how long each start phase took.
	Timings map[string]time.Duration

	opts     Options
	lock     *os.File
	daemons  []*daemon
	stopOnce sync.Once
}

// AdminCredentialsFile is where Start writes AdminAccessKey/AdminSecretKey
// (mode 0600) as {"accessKey": ..., "secretKey": ...}, for the bucket
// provider's --rgw-admin-credentials flag.
func (c *Cluster) AdminCredentialsFile() string { return filepath.Join(c.Dir, "rgw-admin.json") }

// Start wipes opts.Dir and starts a cluster in it. On error everything it
// started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Dir == "" {
		return nil, errors.New("localceph: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts = withDefaults(opts)
	if ip := net.ParseIP(opts.Address); ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("localceph: Options.Address %q is not an IPv4 address", opts.Address)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(opts.Address, "0"))
	if err != nil {
		return nil, fmt.Errorf("localceph: address %s is not assigned to an interface of this host: %w", opts.Address, err)
	}
	_ = l.Close()
	for _, bin := range []string{"ceph-mon", "ceph-osd", "ceph-mgr", "ceph", "rbd", "radosgw", "radosgw-admin", "ceph-authtool"} {
		if _, err := lookPath(bin); err != nil {
			return nil, fmt.Errorf("localceph: %s is not installed (run hack/leaf-ceph.sh as root): %w", bin, err)
		}
	}
	c := &Cluster{Dir: dir, ConfPath: filepath.Join(dir, "ceph.conf"), MonAddrs: net.JoinHostPort(opts.Address, strconv.Itoa(MonPortV1)), Pool: opts.Pool, opts: opts, Timings: map[string]time.Duration{}}
	t0 := time.Now()
	if c.lock, err = acquireLock(ctx, opts.LockPath, opts.LockTimeout); err != nil {
		return nil, err
	}
	c.Timings["lock"] = time.Since(t0)
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := c.start(ctx); err != nil {
		return nil, fmt.Errorf("localceph: %w", err)
	}
	c.Timings["total"] = time.Since(t0)
	return c, nil
}

func withDefaults(o Options) Options {
	if o.MemstoreBytes <= 0 {
		o.MemstoreBytes = DefaultMemstoreBytes
	}
	if o.Pool == "" {
		o.Pool = DefaultPool
	}
	if o.Address == "" {
		o.Address = MonHost
	}
	if o.LockPath == "" {
		o.LockPath = DefaultLockPath
		if o.Address != MonHost {
			o.LockPath = "/tmp/ironfed-localceph-" + o.Address + ".lock"
		}
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

func (c *Cluster) phase(name string, start time.Time) {
	c.Timings[name] = time.Since(start)
	c.opts.Logf("localceph: %s after %s", name, time.Since(start).Round(10*time.Millisecond))
}

func (c *Cluster) start(ctx context.Context) error {
	killStale(c.Dir)
	addr := c.opts.Address
	for _, port := range []int{MonPortV1, MonPortV2} {
		l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("mon port %s:%d is taken by a Ceph not started by localceph (or another program); stop it first: %w", addr, port, err)
		}
		_ = l.Close()
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		return err
	}
	for _, sub := range []string{"run", "log", "mon", "osd", "mgr", "rgw"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, sub), 0o700); err != nil {
			return err
		}
	}
	rgwPort, err := freePort(addr)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.ConfPath, []byte(conf(newFSID(), c.Dir, addr, c.opts.MemstoreBytes, rgwPort, c.opts.Cephx)), 0o600); err != nil {
		return err
	}

	t := time.Now()
	keyring := "/dev/null"
	if c.opts.Cephx {
		keyring = filepath.Join(c.Dir, "keyring")
		if err := c.makeKeyring(ctx, keyring); err != nil {
			return err
		}
	}
	if _, err := c.run(ctx, time.Minute, "ceph-mon", "-c", c.ConfPath, "-i", "a", "--mkfs", "--keyring", keyring); err != nil {
		return err
	}
	if _, err := c.startDaemon("mon.a", "ceph-mon", "-f", "-c", c.ConfPath, "-i", "a"); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "the mon to answer", time.Minute, func(ctx context.Context) (bool, error) {
		_, err := c.run(ctx, 10*time.Second, "ceph", "--connect-timeout", "5", "mon", "stat")
		return err == nil, err
	}); err != nil {
		return err
	}
	c.phase("mon", t)

	t = time.Now()
	if _, err := c.startDaemon("mgr.x", "ceph-mgr", "-f", "-c", c.ConfPath, "-i", "x"); err != nil {
		return err
	}
	if _, err := c.run(ctx, time.Minute, "ceph", "osd", "create"); err != nil {
		return err
	}
	if _, err := c.run(ctx, time.Minute, "ceph-osd", "-c", c.ConfPath, "-i", "0", "--mkfs"); err != nil {
		return err
	}
	if _, err := c.startDaemon("osd.0", "ceph-osd", "-f", "-c", c.ConfPath, "-i", "0"); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "the OSD to come up", 2*time.Minute, func(ctx context.Context) (bool, error) {
		out, err := c.run(ctx, 10*time.Second, "ceph", "osd", "stat", "-f", "json")
		if err != nil {
			return false, err
		}
		var st struct {
			NumUp int `json:"num_up_osds"`
		}
		if err := json.Unmarshal(out, &st); err != nil {
			return false, err
		}
		return st.NumUp >= 1, nil
	}); err != nil {
		return err
	}
	c.phase("osd", t)

	errc := make(chan error, 2)
	go func() {
		t := time.Now()
		_, err := c.run(ctx, time.Minute, "ceph", "osd", "pool", "create", c.Pool, "8")
		if err == nil {
			_, err = c.run(ctx, time.Minute, "rbd", "pool", "init", c.Pool)
		}
		if err == nil {
			// Pool statistics (ceph df) come from the mgr a few seconds later;
			// clients reading free space need them.
			err = c.waitFor(ctx, "ceph df to list pool "+c.Pool, time.Minute, func(ctx context.Context) (bool, error) {
				out, err := c.run(ctx, 10*time.Second, "ceph", "df", "-f", "json")
				if err != nil {
					return false, err
				}
				var df struct {
					Pools []struct {
						Name string `json:"name"`
					} `json:"pools"`
				}
				if err := json.Unmarshal(out, &df); err != nil {
					return false, err
				}
				for _, p := range df.Pools {
					if p.Name == c.Pool {
						return true, nil
					}
				}
				return false, nil
			})
		}
		if err == nil {
			c.phaseLocked("rbd pool", t)
		}
		errc <- err
	}()
	go func() {
		if c.opts.NoRGW {
			errc <- nil
			return
		}
		errc <- c.startRGW(ctx, rgwPort)
	}()
	return errors.Join(<-errc, <-errc)
}

// makeKeyring writes one keyring with a fresh key and the caps of every
// entity; the mon imports it on --mkfs, the daemons and tools read it.
func (c *Cluster) makeKeyring(ctx context.Context, path string) error {
	for i, e := range keyringEntities {
		args := []string{"ceph-authtool", path, "--gen-key", "-n", e.name}
		if i == 0 {
			args = append(args, "--create-keyring")
		}
		for j := 0; j < len(e.caps); j += 2 {
			args = append(args, "--cap", e.caps[j], e.caps[j+1])
		}
		if _, err := c.run(ctx, time.Minute, args...); err != nil {
			return err
		}
	}
	out, err := c.run(ctx, time.Minute, "ceph-authtool", path, "-n", "client.admin", "-p")
	if err != nil {
		return err
	}
	c.AdminKey = strings.TrimSpace(string(out))
	return nil
}

var phaseMu sync.Mutex

func (c *Cluster) phaseLocked(name string, t time.Time) {
	phaseMu.Lock()
	defer phaseMu.Unlock()
	c.phase(name, t)
}

func (c *Cluster) startRGW(ctx context.Context, port int) error {
	t := time.Now()
	if _, err := c.startDaemon("client.rgw.a", "radosgw", "-f", "-c", c.ConfPath, "-n", "client.rgw.a"); err != nil {
		return err
	}
	endpoint := "http://" + net.JoinHostPort(c.opts.Address, strconv.Itoa(port))
	hc := &http.Client{Timeout: 5 * time.Second}
	if err := c.waitFor(ctx, "radosgw to answer on "+endpoint, 2*time.Minute, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("HTTP %d", resp.StatusCode)
	}); err != nil {
		return err
	}
	c.phaseLocked("rgw", t)
	access, secret := randomKey(20), randomKey(40)
	if _, err := c.run(ctx, time.Minute, "radosgw-admin", "user", "create", "--uid="+AdminUID, "--display-name=ironfed bucket provider",
		"--caps="+AdminCaps, "--access-key="+access, "--secret-key="+secret); err != nil {
		return fmt.Errorf("creating the RGW admin user: %w", err)
	}
	creds, _ := json.Marshal(map[string]string{"accessKey": access, "secretKey": secret})
	if err := os.WriteFile(c.AdminCredentialsFile(), creds, 0o600); err != nil {
		return err
	}
	c.RGWEndpoint, c.AdminAccessKey, c.AdminSecretKey = endpoint, access, secret
	return nil
}

// Stop stops every daemon by pid (SIGTERM, SIGKILL after Options.StopGrace) and releases
// the lock; the directory stays for post-mortems. Safe to call twice.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		var wg sync.WaitGroup
		for i := len(c.daemons) - 1; i >= 0; i-- {
			wg.Add(1)
			go func(d *daemon) {
				defer wg.Done()
				d.stop(c.opts.StopGrace)
			}(c.daemons[i])
		}
		wg.Wait()
		if c.lock != nil {
			_ = syscall.Flock(int(c.lock.Fd()), syscall.LOCK_UN)
			_ = c.lock.Close()
		}
	})
}

// acquireLock takes an exclusive flock on path, polling until timeout.
func acquireLock(ctx context.Context, path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localceph: lock %s: %w", path, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			_ = f.Truncate(0)
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("localceph: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(path)
			_ = f.Close()
			return nil, fmt.Errorf("localceph: another one-node Ceph (pid %s) holds %s for more than %s; only one can run per address (default mon ports)", trimNL(holder), path, timeout)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func trimNL(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newFSID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return string(b)
}
