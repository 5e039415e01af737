package machinebroker_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ironfed/ironfed/federation/join"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/test/benchproc"
)

// brokerProcessRSS builds cmd/machinebroker, runs it over e's downstream cluster as its own
// process (nothing else in it), waits until it lists want machines and returns its RSS: what an
// operator sees, garbage included, as for IronCore's broker. A non-empty bin
// runs that build instead. live is the heap its last garbage collection found live (from
// GODEBUG=gctrace=1): the RSS holds up to twice that (GOGC=100) plus the binary's pages, and
// where it sits in between depends on the GC cycle at the moment of sampling.
// env is added to the process's environment (e.g. GOMEMLIMIT=100MiB). file is the part of the
// RSS that is the binary's mapped pages, at the lowest sample.
func brokerProcessRSS(b *testing.B, e *env, want int, bin string, env ...string) (rss, live, file int64) {
	b.Helper()
	dir := b.TempDir()
	if bin == "" {
		bin = filepath.Join(dir, "machinebroker")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/ironfed/ironfed/cmd/machinebroker").CombinedOutput(); err != nil {
			b.Fatalf("build machinebroker: %v\n%s", err, out)
		}
	}
	// Every build runs from a copy read back from disk: how a binary came into the page cache
	// decides how the kernel maps its pages. Just written, they are mapped as huge pages (all
	// 54 MiB of the binary resident, 48 of them as huge pages); read back, only what the process
	// touches and the read-ahead around it. A build of the test and a reference built earlier
	// differed by 7 MiB of RSS for that alone.
	run := filepath.Join(dir, "machinebroker-run")
	must(b, coldCopy(bin, run))
	bin = run
	res, err := join.Join(context.Background(), e.cluster.Config, join.Options{Name: "machinebroker-process-" + strconv.Itoa(len(bin)) + "-" + strconv.Itoa(len(env)), Namespace: testNamespace})
	must(b, err)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	must(b, os.WriteFile(kubeconfig, res.Kubeconfig, 0o600))
	sock := filepath.Join(dir, "m.sock")
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "--namespace", testNamespace, "--address", sock,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	trace := &gcTrace{}
	cmd.Env = append(append(os.Environ(), "GODEBUG=gctrace=1"), env...)
	cmd.Stderr = trace
	must(b, cmd.Start())
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// It serves once its cache has synced: dial until then (slow on a loaded machine).
	for {
		conn, err := remote.Dial(ctx, sock)
		if err == nil {
			resp, err := machinev1alpha1.NewMachineRuntimeClient(conn).ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{})
			_ = conn.Close()
			if err == nil && len(resp.Machines) >= want {
				break
			}
		}
		if ctx.Err() != nil {
			b.Fatalf("broker process did not list %d machines in time: %v", want, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// RSS moves with the garbage collector's cycles: the lowest of 20 samples over 10 s after the
	// list is the steadiest figure to compare two builds by.
	low, file := int64(0), int64(0)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		if r := benchproc.PidRSS(cmd.Process.Pid); low == 0 || r < low {
			low, file = r, benchproc.PidRSSFile(cmd.Process.Pid)
		}
	}
	return low, trace.live(), file
}

// coldCopy copies the executable src to dst and drops dst's pages from the page cache, so it runs
// as one read from disk does.
func coldCopy(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		return err
	}
	f, err := os.Open(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// gcTrace keeps the last gctrace line of a process's stderr.
type gcTrace struct {
	mu      sync.Mutex
	partial []byte
	last    string
}

func (g *gcTrace) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.partial = append(g.partial, p...)
	for {
		i := bytes.IndexByte(g.partial, '\n')
		if i < 0 {
			break
		}
		if line := string(g.partial[:i]); strings.HasPrefix(line, "gc ") {
			g.last = line
		}
		g.partial = g.partial[i+1:]
	}
	return len(p), nil
}

// live parses "A->B->C MB" of the last line: C MB were live after that collection.
func (g *gcTrace) live() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range strings.Split(g.last, ", ") {
		if strings.Count(f, "->") == 2 && strings.HasSuffix(f, " MB") {
			parts := strings.Split(strings.TrimSuffix(f, " MB"), "->")
			mb, _ := strconv.ParseInt(parts[2], 10, 64)
			return mb << 20
		}
	}
	return 0
}
