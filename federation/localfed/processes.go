package localfed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BinDirEnv names the directory of the component binaries for process mode (`make run` sets it
// to what hack/component-binaries.sh builds).
const BinDirEnv = "IRONFED_BIN_DIR"

// Binaries of the components process mode runs: the ones the charts deploy.
var Binaries = []string{
	"ironfed-controller-manager", "memory-provider",
	"machinepoollet", "volumepoollet", "bucketpoollet",
	"machinebroker", "volumebroker", "bucketbroker",
}

// CheckBinDir says which component binaries are missing from dir.
func CheckBinDir(dir string) error {
	var missing []string
	for _, b := range Binaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("component binaries missing in %s: %s (build them with `make component-binaries`, hack/component-binaries.sh)", dir, strings.Join(missing, ", "))
	}
	return nil
}

// Process is one component running as its own process.
type Process struct {
	// Name of the component, e.g. "machinepoollet root/region"; also names its log and pid files.
	Name string
	// Binary is the executable's base name (one of Binaries).
	Binary string
	// Chart is the Helm chart that deploys it (charts/<Chart>).
	Chart string
	// Args are its flags, as a chart's container would get them (locations rewritten).
	Args []string
	// Log is the file its stdout and stderr go to (appended across restarts).
	Log string
	// PIDFile holds the pid of the running instance.
	PIDFile string
	// Health is its /healthz address.
	Health string
	// Env is added to its environment: credentials a chart hands over from a Secret. Never logged.
	Env []string

	mu  sync.Mutex
	pid int
}

// PID of the running instance; 0 while it is not running.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

func (p *Process) setPID(pid int) {
	p.mu.Lock()
	p.pid = pid
	p.mu.Unlock()
	if pid == 0 {
		_ = os.Remove(p.PIDFile)
		return
	}
	_ = os.WriteFile(p.PIDFile, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// Processes lists the components running as processes (process mode), in start order.
func (f *Federation) Processes() []*Process {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.procs)
}

// stopGrace is how long a component gets to stop on SIGTERM before it is killed.
const stopGrace = 15 * time.Second

// startProcess runs p (Name, Chart, Binary, Args, Health, Env set) under supervision: restarted
// with backoff when it exits (as a kubelet restarts a crashed container), stopped by pid on Down
// (SIGTERM, then SIGKILL). The first start counts as ready once its /healthz answers.
func (f *Federation) startProcess(p *Process) error {
	file := strings.NewReplacer("/", "-", " ", "_", "→", "-").Replace(p.Name)
	p.Log = filepath.Join(f.Dir, "logs", file+".log")
	p.PIDFile = filepath.Join(f.Dir, "pids", file+".pid")
	for _, d := range []string{filepath.Dir(p.Log), filepath.Dir(p.PIDFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	return f.supervise(p.Name, 2*time.Minute, func(ctx context.Context, ready func()) error {
		return f.runProcess(ctx, p, ready)
	})
}

// runProcess runs one instance of p until it exits or ctx ends.
func (f *Federation) runProcess(ctx context.Context, p *Process, ready func()) error {
	log, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "=== %s: %s %s\n", time.Now().Format(time.RFC3339), p.Binary, strings.Join(p.Args, " "))
	cmd := exec.Command(filepath.Join(f.opts.BinDir, p.Binary), p.Args...)
	cmd.Stdout, cmd.Stderr = log, log
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	// Its own process group (a Ctrl-C at the terminal reaches ironfed only, which stops it in
	// order), and killed with ironfed should ironfed itself be killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.setPID(cmd.Process.Pid)
	defer p.setPID(0)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	done := make(chan struct{})
	defer close(done)
	go waitHealthy(ctx, p.Health, done, ready)
	select {
	case err := <-exited:
		if err == nil {
			err = errors.New("exited with status 0")
		}
		return fmt.Errorf("pid %d: %w (log %s)", cmd.Process.Pid, err, p.Log)
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopGrace):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}
}

// waitHealthy calls ready once addr's /healthz answers 200, unless the run ends first.
func waitHealthy(ctx context.Context, addr string, done <-chan struct{}, ready func()) {
	c := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		resp, err := c.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready()
				return
			}
		}
	}
}
