package localceph

import (
	"bytes"
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
)

// daemon is one Ceph daemon run in the foreground as our child, in its own
// process group so that a terminal's Ctrl-C reaches us, not it.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (c *Cluster) startDaemon(name string, args ...string) (*daemon, error) {
	logf, err := os.OpenFile(filepath.Join(c.Dir, "log", name+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = c.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	pidFile := filepath.Join(c.Dir, "run", name+".localceph.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	go func() {
		d.err = cmd.Wait()
		_ = logf.Close()
		close(d.done)
	}()
	c.daemons = append(c.daemons, d)
	return d, nil
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs.
func (d *daemon) stop(grace time.Duration) {
	if d.exited() {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(grace):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// killStale ends daemons a crashed earlier run left behind in dir: pids from
// our pid files whose command line still names dir's ceph.conf.
func killStale(dir string) {
	pids, _ := filepath.Glob(filepath.Join(dir, "run", "*.localceph.pid"))
	confPath := filepath.Join(dir, "ceph.conf")
	for _, f := range pids {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.Contains(cmdline, []byte(confPath)) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; i < 50; i++ {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// run runs a Ceph command-line tool against the cluster, bounded by
// timeout, and returns its standard output.
func (c *Cluster) run(ctx context.Context, timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = c.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: no answer within %s", strings.Join(args, " "), timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, tail(stderr.String(), 600))
	}
	return stdout.Bytes(), nil
}

func (c *Cluster) env() []string {
	return append(os.Environ(), "CEPH_CONF="+c.ConfPath)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// logTail returns the end of a daemon's log, for error messages.
func (c *Cluster) logTail(name string) string {
	var out []string
	for _, f := range []string{name + ".out", name + ".log"} {
		b, err := os.ReadFile(filepath.Join(c.Dir, "log", f))
		if err == nil && len(b) > 0 {
			out = append(out, f+": "+tail(string(b), 800))
		}
	}
	return strings.Join(out, "\n")
}

// waitFor polls cond every interval until it is true, a daemon exits, or
// timeout passes.
func (c *Cluster) waitFor(ctx context.Context, what string, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		for _, d := range c.daemons {
			if d.exited() {
				return fmt.Errorf("waiting for %s: %s exited (%v)\n%s", what, d.name, d.err, c.logTail(d.name))
			}
		}
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not within %s (last error: %v)", what, timeout, last)
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("waiting for %s", what), ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func lookPath(bin string) (string, error) { return exec.LookPath(bin) }
