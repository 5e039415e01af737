// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package benchproc runs one of the project's binaries as its own process for a benchmark and
// measures it from outside: its resident memory as an operator sees it (garbage included), and
// what it serves on /metrics and /debug/pprof. A benchmark that ran the component in its own test
// process would count the test's clients, fakes and providers with it.
package benchproc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Build builds the main package pkg (an import path, e.g. github.com/ironfed/ironfed/cmd/machinepoollet)
// into a temporary directory and returns the binary. A non-empty prebuilt is returned instead, so a
// benchmark can measure another build (e.g. of the branch base) with the same harness.
func Build(tb testing.TB, pkg, prebuilt string) string {
	tb.Helper()
	if prebuilt != "" {
		return prebuilt
	}
	bin := filepath.Join(tb.TempDir(), filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a started binary whose output goes to a log file.
type Process struct {
	Cmd *exec.Cmd
	// Log is the file holding its stdout and stderr.
	Log string
}

// Start starts bin with args; it is killed and waited for at cleanup.
func Start(tb testing.TB, bin string, args ...string) *Process {
	tb.Helper()
	log := filepath.Join(tb.TempDir(), filepath.Base(bin)+".log")
	f, err := os.Create(log)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		tb.Fatalf("start %s: %v", bin, err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = f.Close()
	})
	return &Process{Cmd: cmd, Log: log}
}

// Tail returns the last n bytes of the process's log, for a failure message.
func (p *Process) Tail(n int64) string {
	f, err := os.Open(p.Log)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// Exited reports whether the process has ended (it is then a zombie until Wait at cleanup).
func (p *Process) Exited() bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.Cmd.Process.Pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// RSS is the process's resident set size in bytes (VmRSS), 0 when it cannot be read.
func (p *Process) RSS() int64 { return PidRSS(p.Cmd.Process.Pid) }

// PidRSS is the resident set size in bytes of pid (VmRSS), 0 when it cannot be read.
func PidRSS(pid int) int64 { return statusBytes(pid, "VmRSS:") }

// PidRSSFile is the part of pid's RSS that is pages of mapped files (RssFile): the binary's code
// and read-only data; the rest is anonymous (heap, stacks, runtime).
func PidRSSFile(pid int) int64 { return statusBytes(pid, "RssFile:") }

// statusBytes is the kB figure field of /proc/pid/status in bytes, 0 when it cannot be read.
func statusBytes(pid int, field string) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// LowestRSS samples the RSS of each process n times, every interval, and returns the lowest of
// each. RSS moves with the garbage collector's cycles; the lowest sample is the steadiest figure to
// compare two builds by.
func LowestRSS(n int, every time.Duration, procs ...*Process) []int64 {
	low := make([]int64, len(procs))
	for range n {
		time.Sleep(every)
		for i, p := range procs {
			if r := p.RSS(); r > 0 && (low[i] == 0 || r < low[i]) {
				low[i] = r
			}
		}
	}
	return low
}

// FreeAddr returns a loopback address with a port nothing listens on right now, for a process's
// --metrics-bind-address and the like.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Metric reads a sample from the Prometheus text exposition at url: series is its name when it
// has no labels (go_memstats_heap_inuse_bytes), else the beginning of its name and labels as
// exposed (workqueue_depth{controller="machinepoollet"); the first match is returned.
func Metric(url, series string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, series) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(series):]
		if !strings.Contains(series, "{") {
			// An unlabelled name must be followed by its value, not by more of a longer name.
			if !strings.HasPrefix(rest, " ") {
				continue
			}
		} else if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			rest = rest[i+1:]
		}
		return strconv.ParseFloat(strings.TrimSpace(rest), 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no sample %s", url, series)
}

// HeapProfile fetches a heap profile from a Go pprof endpoint (http://addr/debug/pprof/heap) after
// a garbage collection, and writes it to path when path is not empty. The collection also makes
// the heap in use read from /metrics right afterwards the live heap.
func HeapProfile(pprofAddr, path string) error {
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: %s", resp.Status)
	}
	w := io.Discard
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
