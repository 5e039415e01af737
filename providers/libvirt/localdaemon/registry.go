package localdaemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Registry is a local OCI registry (distribution's cmd/registry) on 127.0.0.1, plain HTTP.
type Registry struct {
	// Dir holds config.yml, registry.log, registry.pid and the storage under data/.
	Dir string
	// Host is host:port, the prefix of image references (e.g. Host + "/guest:v1").
	Host string
	Pid  int

	cmd  *exec.Cmd
	done chan struct{}
}

// RegistryOptions configure StartRegistry.
type RegistryOptions struct {
	// Dir is the registry's private directory (created). Required.
	Dir string
	// Binary is the registry executable (hack/leaf-libvirt.sh prints it as IRONFED_REGISTRY_BIN). Required.
	Binary string
	// Port to listen on; 0 picks a free one.
	Port int
	// StartTimeout bounds the wait for /v2/ to answer; default 30s.
	StartTimeout time.Duration
}

// StartRegistry starts the registry as a child process and waits until it answers. Stop it with Stop.
func StartRegistry(ctx context.Context, o RegistryOptions) (*Registry, error) {
	if o.Dir == "" || o.Binary == "" {
		return nil, errors.New("localdaemon: RegistryOptions.Dir and .Binary are required (build the binary with hack/leaf-libvirt.sh)")
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("localdaemon: registry binary: %w (build it with hack/leaf-libvirt.sh)", err)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	r := &Registry{Dir: dir, Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{})}
	conf := filepath.Join(dir, "config.yml")
	body := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), r.Host)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	r.cmd = exec.Command(o.Binary, "serve", conf)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	// The registry dies with the process that started it, even one killed without cleanup.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("localdaemon: starting %s: %w", o.Binary, err)
	}
	r.Pid = r.cmd.Process.Pid
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	_ = os.WriteFile(filepath.Join(dir, "registry.pid"), []byte(strconv.Itoa(r.Pid)+"\n"), 0o600)

	deadline := time.Now().Add(o.StartTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + r.Host + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
			err = fmt.Errorf("GET /v2/: %s", resp.Status)
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("localdaemon: registry exited during start (see %s)", filepath.Join(dir, "registry.log"))
		default:
		}
		if time.Now().After(deadline) {
			_ = r.Stop()
			return nil, fmt.Errorf("localdaemon: registry on %s did not answer within %s: %w", r.Host, o.StartTimeout, err)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			_ = r.Stop()
			return nil, err
		}
	}
}

// Stop terminates the registry (SIGTERM, SIGKILL after 10 s) and waits for it.
func (r *Registry) Stop() error {
	if r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	_ = os.Remove(filepath.Join(r.Dir, "registry.pid"))
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
