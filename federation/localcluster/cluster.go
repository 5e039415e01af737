// Package localcluster runs real Kubernetes control planes (etcd, kube-apiserver and a trimmed
// kube-controller-manager) as local processes on loopback: the clusters of ironfed's tests and of
// its local federation. It has no dependency on package testing.
package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
)

// Options configure one cluster. Only Dir is required.
type Options struct {
	// Name identifies the cluster in logs, errors and the kubeconfig context. Default "cluster".
	Name string
	// Dir holds the cluster's state: etcd data, PKI, logs and kubeconfig. It survives component
	// restarts; the caller owns (and removes) it.
	Dir string
	// Binaries to run. Default: FindBinaries().
	Binaries *Binaries
	// CRDs are installed, and awaited Established, before Start returns.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// Install runs after the CRDs are Established, at every start (so it must be idempotent),
	// e.g. admission.Install for ironfed's admission policies.
	Install []func(ctx context.Context, cfg *rest.Config) error
	// WithoutControllerManager skips kube-controller-manager (no garbage collection of owner
	// references, no namespace deletion): a lighter cluster for benchmarks.
	WithoutControllerManager bool
	// APIServerFlags are appended to kube-apiserver's command line (later flags win).
	APIServerFlags []string
	// ControllerManagerFlags are appended to kube-controller-manager's command line (later flags
	// win), e.g. --controllers=* for clusters with nodes.
	ControllerManagerFlags []string
	// Address is the IP the apiserver binds to, advertises and is reached at. Default 127.0.0.1;
	// clusters with nodes give an address their pods can reach.
	Address string
	// ServingIPs are extra IP SANs of the apiserver's serving certificate (e.g. the kubernetes
	// Service's ClusterIP). Used when the PKI is first written into Dir.
	ServingIPs []net.IP
	// StartTimeout bounds how long each component may take to become ready. Default 90s.
	StartTimeout time.Duration
}

// Cluster is a running control plane. Its components can be stopped and started again with their
// data kept, to simulate outages.
type Cluster struct {
	Name string
	Dir  string
	// Config is an admin (system:masters) client config.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file for the same admin identity.
	KubeconfigPath string

	Etcd              *Component
	APIServer         *Component
	ControllerManager *Component // nil with WithoutControllerManager

	pki          *pki
	address      string
	apiPort      int
	etcdPort     int
	etcdPeerPort int
}

// Component is one process of a cluster.
type Component struct {
	proc    *process
	timeout time.Duration
	ready   func(ctx context.Context) error
}

// Start starts the component again with its previous arguments and waits until it is ready.
func (c *Component) Start(ctx context.Context) error {
	if err := c.proc.start(); err != nil {
		return err
	}
	return c.waitReady(ctx)
}

// Stop terminates the component gracefully (SIGTERM, then SIGKILL after 20s). Data is kept.
func (c *Component) Stop() error { return c.proc.stop(syscall.SIGTERM, 20*time.Second) }

// Kill terminates the component abruptly (SIGKILL), as a crash would. Data is kept.
func (c *Component) Kill() error { return c.proc.stop(syscall.SIGKILL, 0) }

// PID is the running process id, or 0 when stopped.
func (c *Component) PID() int { return c.proc.pid() }

// RSS is the resident memory of the running process in bytes.
func (c *Component) RSS() (int64, error) { return rssBytes(c.proc.pid()) }

// LogPath is the file receiving the component's stdout and stderr.
func (c *Component) LogPath() string { return c.proc.logPath }

// NewComponent returns a stopped component that runs path with args, logging to logPath, and is
// ready when ready returns nil (polled every 100 ms up to timeout). Its process dies with this one.
func NewComponent(name, path string, args []string, logPath string, timeout time.Duration, ready func(context.Context) error) *Component {
	return &Component{timeout: timeout, ready: ready, proc: &process{name: name, path: path, args: args, logPath: logPath}}
}

func (c *Component) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var lastErr error
	for {
		if exited, werr := c.proc.exitedEarly(); exited {
			return fmt.Errorf("%s %w (%v) before it was ready; last log lines:\n%s", c.proc.name, errProcessExited, werr, tail(c.proc.logPath, 25))
		}
		if lastErr = c.ready(ctx); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v; last log lines:\n%s", c.proc.name, c.timeout, lastErr, tail(c.proc.logPath, 25))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Start brings up a cluster and returns when its apiserver is ready and its CRDs are Established.
// On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("cluster.Options.Dir is required")
	}
	if opts.Name == "" {
		opts.Name = "cluster"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}
	if opts.Address == "" {
		opts.Address = "127.0.0.1"
	}
	bins := opts.Binaries
	if bins == nil {
		b, err := FindBinaries()
		if err != nil {
			return nil, err
		}
		bins = &b
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	p, err := newPKI(filepath.Join(opts.Dir, "pki"), append([]net.IP{net.ParseIP(opts.Address)}, opts.ServingIPs...))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: PKI: %w", opts.Name, err)
	}

	// Free ports are picked, then bound by the child: another process may take one in between.
	// A bind failure is retried with fresh ports.
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		c := &Cluster{Name: opts.Name, Dir: opts.Dir, pki: p, address: opts.Address}
		if err := c.pickPorts(); err != nil {
			return nil, err
		}
		c.build(opts, *bins)
		lastErr = c.startAll(ctx, opts.CRDs, opts.Install)
		if lastErr == nil {
			if err := c.writeKubeconfig(); err != nil {
				_ = c.Stop()
				return nil, err
			}
			return c, nil
		}
		_ = c.Stop()
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
		// Fresh etcd data for the retry: a half-initialised member would remember the old peer URL.
		_ = os.RemoveAll(filepath.Join(opts.Dir, "etcd"))
	}
	return nil, fmt.Errorf("cluster %s: %w", opts.Name, lastErr)
}

// StartMany starts clusters in parallel. On any error all started clusters are stopped.
func StartMany(ctx context.Context, opts []Options) ([]*Cluster, error) {
	clusters := make([]*Cluster, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i := range opts {
		wg.Go(func() { clusters[i], errs[i] = Start(ctx, opts[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range clusters {
			if c != nil {
				_ = c.Stop()
			}
		}
		return nil, err
	}
	return clusters, nil
}

// Stop terminates every component. The directory is kept.
func (c *Cluster) Stop() error {
	var errs []error
	// Reverse dependency order: clients of the apiserver, the apiserver, then its storage.
	for _, comp := range []*Component{c.ControllerManager, c.APIServer, c.Etcd} {
		if comp != nil {
			errs = append(errs, comp.Stop())
		}
	}
	return errors.Join(errs...)
}

// PIDs lists the running processes of the cluster.
func (c *Cluster) PIDs() []int {
	var pids []int
	for _, comp := range []*Component{c.Etcd, c.APIServer, c.ControllerManager} {
		if comp != nil && comp.PID() != 0 {
			pids = append(pids, comp.PID())
		}
	}
	return pids
}

// RSS sums the resident memory of the cluster's running processes.
func (c *Cluster) RSS() int64 {
	var sum int64
	for _, comp := range []*Component{c.Etcd, c.APIServer, c.ControllerManager} {
		if comp != nil {
			if n, err := comp.RSS(); err == nil {
				sum += n
			}
		}
	}
	return sum
}

// EtcdURL is the etcd client URL (plain HTTP, no authentication: local clusters only).
func (c *Cluster) EtcdURL() string { return "http://127.0.0.1:" + strconv.Itoa(c.etcdPort) }

// Host is the apiserver URL.
func (c *Cluster) Host() string {
	return "https://" + net.JoinHostPort(c.address, strconv.Itoa(c.apiPort))
}

// CAFile is the cluster CA's certificate (PEM), which signs the apiserver's and clients' certificates.
func (c *Cluster) CAFile() string { return c.pki.caFile }

func (c *Cluster) pickPorts() error {
	ports, err := FreePorts(3)
	if err != nil {
		return err
	}
	c.apiPort, c.etcdPort, c.etcdPeerPort = ports[0], ports[1], ports[2]
	return nil
}

func (c *Cluster) build(opts Options, bins Binaries) {
	logs := filepath.Join(opts.Dir, "logs")
	_ = os.MkdirAll(logs, 0o755)
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(c.etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(c.etcdPeerPort)
	c.Etcd = &Component{
		timeout: opts.StartTimeout,
		proc: &process{name: "etcd", path: bins.Etcd, logPath: filepath.Join(logs, "etcd.log"), args: []string{
			"--name=" + c.Name,
			"--data-dir=" + filepath.Join(opts.Dir, "etcd"),
			"--listen-client-urls=" + etcdURL,
			"--advertise-client-urls=" + etcdURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=" + c.Name + "=" + peerURL,
			// Test clusters trade durability on power loss for speed; a killed process loses nothing.
			"--unsafe-no-fsync",
			"--quota-backend-bytes=8589934592",
			"--log-level=warn",
		}},
		ready: func(ctx context.Context) error { return httpOK(ctx, http.DefaultClient, etcdURL+"/health") },
	}

	apiArgs := []string{
		"--advertise-address=" + c.address,
		// The kubernetes Service endpoints may not point at loopback; nothing here needs them.
		// Clusters with nodes (another Address) keep the default lease reconciler.
		"--bind-address=" + c.address,
		"--secure-port=" + strconv.Itoa(c.apiPort),
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(opts.Dir, "apiserver"),
		"--tls-cert-file=" + c.pki.servingCertFile,
		"--tls-private-key-file=" + c.pki.servingKeyFile,
		"--client-ca-file=" + c.pki.caFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + c.pki.serviceAcctKey,
		"--service-account-signing-key-file=" + c.pki.serviceAcctKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		"--encryption-provider-config=" + c.pki.encryptionConfig,
		// Many concurrent clients per cluster in tests and benchmarks: no fairness queuing, wide limits.
		"--enable-priority-and-fairness=false",
		"--max-requests-inflight=3000",
		"--max-mutating-requests-inflight=1000",
		"--profiling=false",
		"--v=1",
	}
	if c.address == "127.0.0.1" {
		apiArgs = append(apiArgs, "--endpoint-reconciler-type=none")
	}
	apiArgs = append(apiArgs, opts.APIServerFlags...)
	client := c.adminHTTPClient()
	c.APIServer = &Component{
		timeout: opts.StartTimeout,
		proc:    &process{name: "kube-apiserver", path: bins.APIServer, logPath: filepath.Join(logs, "kube-apiserver.log"), args: apiArgs},
		ready:   func(ctx context.Context) error { return httpOK(ctx, client, c.Host()+"/readyz") },
	}
	c.Config = &rest.Config{
		Host: c.Host(),
		TLSClientConfig: rest.TLSClientConfig{
			CAData: c.pki.caCert, CertData: c.pki.adminCert, KeyData: c.pki.adminKey,
		},
		// Tests drive thousands of objects; client-go's default 5 QPS would measure the limiter.
		QPS: 1000, Burst: 2000,
	}
	c.KubeconfigPath = filepath.Join(opts.Dir, "kubeconfig")

	if !opts.WithoutControllerManager {
		c.ControllerManager = &Component{
			timeout: opts.StartTimeout,
			proc: &process{name: "kube-controller-manager", path: bins.ControllerManager, logPath: filepath.Join(logs, "kube-controller-manager.log"), args: append([]string{
				"--kubeconfig=" + c.KubeconfigPath,
				// Only what ironfed relies on: owner-reference cascades, namespace deletion and the
				// default service accounts.
				"--controllers=garbagecollector,namespace,serviceaccount",
				"--leader-elect=false",
				"--secure-port=0",
				"--kube-api-qps=200", "--kube-api-burst=400",
				"--root-ca-file=" + c.pki.caFile,
				"--service-account-private-key-file=" + c.pki.serviceAcctKey,
				"--v=1",
			}, opts.ControllerManagerFlags...)},
			ready: func(ctx context.Context) error { return serviceAccountExists(ctx, c.Config, "default", "default") },
		}
	}
}

func (c *Cluster) startAll(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition, install []func(context.Context, *rest.Config) error) error {
	if err := c.Etcd.Start(ctx); err != nil {
		return err
	}
	if err := c.APIServer.Start(ctx); err != nil {
		return err
	}
	// Before kube-controller-manager: its garbage collector discovers the CRDs at start and
	// otherwise only at its next resync, 30 s later, so owner-reference cascades would stall.
	if err := installCRDs(ctx, c.Config, crds); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	for _, f := range install {
		if err := f(ctx, c.Config); err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
	}
	if c.ControllerManager != nil {
		// It reads the kubeconfig file at start.
		if err := c.writeKubeconfig(); err != nil {
			return err
		}
		return c.ControllerManager.Start(ctx)
	}
	return nil
}

func (c *Cluster) adminHTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.pki.caCert)
	cert, err := tls.X509KeyPair(c.pki.adminCert, c.pki.adminKey)
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if err == nil {
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1 (free when asked: callers retry on a
// collision).
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
