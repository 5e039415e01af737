package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// RunLabel is the label every object a case creates carries, with a value
// unique to the case run; cleanup deletes by it.
const RunLabel = "conformance.ironfed.dev/run"

// C is a case's handle, like testing.T: it records failures, skips and
// logs. Errorf and Logf may be called from any goroutine; Fatalf, Skipf and
// FailNow only from the case's own goroutine (they end it).
type C struct {
	env   *env
	name  string
	runID string

	mu       sync.Mutex
	failures []string
	logs     []string
	skip     string
	skipped  bool
	cleanups []func(context.Context)
}

func newC(e *env, name string) *C {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &C{env: e, name: name, runID: hex.EncodeToString(b[:])}
}

// Name is the case's full name.
func (c *C) Name() string { return c.name }

// Errorf records a failure and lets the case go on.
func (c *C) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the case.
func (c *C) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	runtime.Goexit()
}

// Skipf ends the case and reports it as skipped with the reason.
func (c *C) Skipf(format string, args ...any) {
	c.mu.Lock()
	c.skip, c.skipped = fmt.Sprintf(format, args...), true
	c.mu.Unlock()
	runtime.Goexit()
}

// Logf records a line shown with the case's result.
func (c *C) Logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logs = append(c.logs, fmt.Sprintf(format, args...))
}

// Failed reports whether the case has failed so far.
func (c *C) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.failures) > 0
}

// Cleanup registers f to run after the case, last registered first, with a
// fresh context.
func (c *C) Cleanup(f func(ctx context.Context)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

// Labels returns a new label map with the case's run label plus kv pairs.
func (c *C) Labels(kv ...string) map[string]string {
	m := map[string]string{RunLabel: c.runID}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// UID returns a value for a poollet UID label unique to this run.
func (c *C) UID(suffix string) string { return "conformance-" + c.runID + "-" + suffix }

// Machine, Volume and Bucket return the runtime clients (nil when the
// runtime has no endpoint; cases of that runtime do not run then).
func (c *C) Machine() machinev1alpha1.MachineRuntimeClient { return c.env.machine }
func (c *C) Volume() volumev1alpha1.VolumeRuntimeClient    { return c.env.volume }
func (c *C) Bucket() bucketv1alpha1.BucketRuntimeClient    { return c.env.bucket }

// Eventually polls cond until it returns true, and fails the case when it
// has not within the wait timeout. what says what is awaited; cond's last
// error or note is shown on failure.
func (c *C) Eventually(ctx context.Context, what string, cond func() (bool, string)) {
	deadline := time.Now().Add(c.env.cfg.WaitTimeout)
	last := ""
	for {
		ok, note := cond()
		if ok {
			return
		}
		if note != "" {
			last = note
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if last != "" {
				c.Fatalf("timed out after %s waiting for %s; last seen: %s", c.env.cfg.WaitTimeout, what, last)
			}
			c.Fatalf("timed out after %s waiting for %s", c.env.cfg.WaitTimeout, what)
		}
		select {
		case <-ctx.Done():
		case <-time.After(c.env.cfg.PollInterval):
		}
	}
}

// Outcome is a case's verdict.
type Outcome string

const (
	Pass Outcome = "PASS"
	Fail Outcome = "FAIL"
	Skip Outcome = "SKIP"
)

// Result is what one case produced.
type Result struct {
	Name     string
	Outcome  Outcome
	Reason   string // the skip reason or the failures, one per line
	Logs     []string
	Duration time.Duration
}

// runCase runs k in its own goroutine (so Fatalf/Skipf can end it), then
// its cleanups.
func runCase(ctx context.Context, e *env, k Case) Result {
	start := time.Now()
	c := newC(e, k.FullName())
	if !e.has(k.Runtime) {
		return Result{Name: c.name, Outcome: Skip, Reason: fmt.Sprintf("no %s runtime endpoint configured", k.Runtime)}
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.CaseTimeout)
	defer cancel()
	c.Cleanup(func(ctx context.Context) { deleteAllOfRun(ctx, c, k.Runtime) })
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				c.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		k.Run(ctx, c)
	}()
	<-done
	c.runCleanups()
	res := Result{Name: c.name, Logs: c.logs, Duration: time.Since(start)}
	switch {
	case len(c.failures) > 0:
		res.Outcome, res.Reason = Fail, strings.Join(c.failures, "\n")
	case c.skipped:
		res.Outcome, res.Reason = Skip, c.skip
	default:
		res.Outcome = Pass
	}
	return res
}

func (c *C) runCleanups() {
	c.mu.Lock()
	fs := c.cleanups
	c.cleanups = nil
	c.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		func() {
			ctx, cancel := context.WithTimeout(context.Background(), c.env.cfg.WaitTimeout)
			defer cancel()
			done := make(chan struct{})
			go func() { // a Fatalf inside a cleanup ends only that cleanup
				defer close(done)
				defer func() {
					if r := recover(); r != nil {
						c.Errorf("panic in cleanup: %v\n%s", r, debug.Stack())
					}
				}()
				fs[i](ctx)
			}()
			<-done
		}()
	}
}
