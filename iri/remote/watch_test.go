package remote

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

const (
	pending = machinev1alpha1.MachineState_MACHINE_PENDING
	running = machinev1alpha1.MachineState_MACHINE_RUNNING
)

// fastOpts keeps retries and polls short so tests converge quickly.
func fastOpts() WatcherOptions {
	return WatcherOptions{
		RelistPeriod:   30 * time.Millisecond,
		BackoffInitial: 10 * time.Millisecond,
		BackoffMax:     50 * time.Millisecond,
	}
}

type runningWatcher struct {
	w      *Watcher[*machinev1alpha1.Machine]
	events chan string
	cancel context.CancelFunc
	done   chan error
}

// startWatcher runs a machine Watcher and records its events as
// "TYPE id state".
func startWatcher(t *testing.T, rt MachineRuntime, opts WatcherOptions) *runningWatcher {
	t.Helper()
	w, err := NewMachineWatcher(rt, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningWatcher{w: w, events: make(chan string, 1000), cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- w.Run(ctx, func(ev Event[*machinev1alpha1.Machine]) {
			if ev.Type == Synced {
				r.events <- "SYNCED"
				return
			}
			r.events <- fmt.Sprintf("%s %s %s", ev.Type, ev.Object.GetMetadata().GetId(), ev.Object.GetStatus().GetState())
		})
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *runningWatcher) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // let a second stop return
}

func (r *runningWatcher) expect(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < len(want) {
		select {
		case ev := <-r.events:
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("timed out\n got: %q\nwant: %q", got, want)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events differ\n got: %q\nwant: %q", got, want)
	}
}

func (r *runningWatcher) expectNothing(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Fatalf("unexpected event %q", ev)
	case <-time.After(d):
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatcherWatchMode(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending), machine("m2", "c", running))
	rt := connectFake(t, serveFake(t, f))
	var statuses []WatcherStatus
	opts := fastOpts()
	opts.OnStatus = func(s WatcherStatus) { statuses = append(statuses, s) }
	r := startWatcher(t, rt, opts)

	r.expect(t, "ADDED m1 MACHINE_PENDING", "ADDED m2 MACHINE_RUNNING", "SYNCED")
	if s := r.w.Status(); s.Mode != ModeWatch || !s.Synced || s.Err != nil {
		t.Fatalf("status = %+v, want synced watch without error", s)
	}
	f.apply(change{put: machine("m1", "c", running)}, change{put: machine("m3", "c", pending)}, change{del: "m2"})
	r.expect(t, "MODIFIED m1 MACHINE_RUNNING", "ADDED m3 MACHINE_PENDING", "DELETED m2 MACHINE_RUNNING")

	// A no-op modification is not reported: clients are level-based.
	f.apply(change{put: machine("m3", "c", pending)})
	r.expectNothing(t, 100*time.Millisecond)

	if got, ok := r.w.Get("m1"); !ok || got.GetStatus().GetState() != running {
		t.Errorf("cache m1 = %v, %v", got, ok)
	}
	if n := len(r.w.List()); n != 2 {
		t.Errorf("cache holds %d machines, want 2", n)
	}
	r.stop()
	if len(statuses) != 1 || statuses[0].Mode != ModeWatch {
		t.Errorf("OnStatus calls = %+v, want one with mode watch", statuses)
	}
	if n := f.watchCalls.Load(); n != 1 {
		t.Errorf("WatchMachines called %d times, want 1", n)
	}
}

func TestWatcherFallsBackToPolling(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending), machine("m2", "c", pending))
	f.watchUnimplemented.Store(true)
	rt := connectFake(t, serveFake(t, f))
	r := startWatcher(t, rt, fastOpts())

	r.expect(t, "ADDED m1 MACHINE_PENDING", "ADDED m2 MACHINE_PENDING", "SYNCED")
	if s := r.w.Status(); s.Mode != ModePoll || s.Err != nil {
		t.Fatalf("status = %+v, want poll mode without error", s)
	}
	f.apply(change{put: machine("m1", "c", running)}, change{del: "m2"}, change{put: machine("m0", "c", pending)})
	r.expect(t, "ADDED m0 MACHINE_PENDING", "MODIFIED m1 MACHINE_RUNNING", "DELETED m2 MACHINE_PENDING")
	r.expectNothing(t, 100*time.Millisecond) // several polls, nothing changed
	if n := f.watchCalls.Load(); n != 1 {
		t.Errorf("WatchMachines called %d times, want 1 (no re-probe within the probe period)", n)
	}
}

func TestWatcherProbesWatchAgainInPollMode(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending))
	f.watchUnimplemented.Store(true)
	rt := connectFake(t, serveFake(t, f))
	opts := fastOpts()
	opts.WatchProbePeriod = 50 * time.Millisecond
	r := startWatcher(t, rt, opts)
	r.expect(t, "ADDED m1 MACHINE_PENDING", "SYNCED")

	// The runtime gets upgraded: the next probe finds the watch.
	f.watchUnimplemented.Store(false)
	eventually(t, "watch mode", func() bool { return r.w.Status().Mode == ModeWatch })
	f.apply(change{put: machine("m2", "c", pending)})
	r.expect(t, "ADDED m2 MACHINE_PENDING")
}

func TestWatcherReconnectConverges(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending), machine("m2", "c", pending), machine("m3", "c", pending))
	rt := connectFake(t, serveFake(t, f))
	r := startWatcher(t, rt, fastOpts())
	r.expect(t, "ADDED m1 MACHINE_PENDING", "ADDED m2 MACHINE_PENDING", "ADDED m3 MACHINE_PENDING", "SYNCED")

	// The server drops the watcher (as for a slow consumer) and refuses
	// new watches for a while; meanwhile things change unseen.
	f.watchDown.Store(true)
	f.dropStreams(status.New(codes.ResourceExhausted, "fake: watcher fell behind"))
	eventually(t, "the watcher to report the failure", func() bool { return r.w.Status().Err != nil })
	if s := r.w.Status(); s.FailingSince.IsZero() || !strings.Contains(s.Err.Error(), "watch") {
		t.Fatalf("status = %+v, want a watch error with FailingSince", s)
	}
	f.apply(change{del: "m1"}, change{put: machine("m2", "c", running)}, change{put: machine("m4", "c", pending)})
	f.watchDown.Store(false)

	// The re-list is the whole truth: m1 vanished, m2 changed, m4 is new,
	// m3 is unchanged and not reported; no second SYNCED.
	r.expect(t, "MODIFIED m2 MACHINE_RUNNING", "ADDED m4 MACHINE_PENDING", "DELETED m1 MACHINE_PENDING")
	eventually(t, "a healthy status", func() bool { return r.w.Status().Err == nil })
	if s := r.w.Status(); s.Mode != ModeWatch || !s.FailingSince.IsZero() {
		t.Fatalf("status = %+v, want healthy watch", s)
	}
	f.apply(change{del: "m3"})
	r.expect(t, "DELETED m3 MACHINE_PENDING")
	r.expectNothing(t, 50*time.Millisecond)
}

func TestWatcherRetriesWithoutBookmark(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending))
	f.noBookmark.Store(true)
	rt := connectFake(t, serveFake(t, f))
	opts := fastOpts()
	opts.SyncTimeout = 100 * time.Millisecond
	r := startWatcher(t, rt, opts)
	r.expect(t, "ADDED m1 MACHINE_PENDING")
	eventually(t, "a sync timeout error", func() bool {
		err := r.w.Status().Err
		return err != nil && status.Code(err) == codes.DeadlineExceeded && strings.Contains(err.Error(), "BOOKMARK")
	})
	f.noBookmark.Store(false)
	r.expect(t, "SYNCED")
}

func TestWatcherRunStopsOnCancel(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending))
	rt := connectFake(t, serveFake(t, f))
	before := runtime.NumGoroutine()

	for _, unimplemented := range []bool{false, true} {
		f.watchUnimplemented.Store(unimplemented)
		r := startWatcher(t, rt, fastOpts())
		r.expect(t, "ADDED m1 MACHINE_PENDING", "SYNCED")
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Fatalf("Run returned %v, want nil", err)
			}
			r.done <- nil
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	// Stream goroutines on both ends are gone.
	eventually(t, fmt.Sprintf("goroutines to drop to %d", before), func() bool { return runtime.NumGoroutine() <= before })
	eventually(t, "the server to forget the watch", func() bool { return f.watcherCount() == 0 })
}

func TestWatcherRejectsBadUse(t *testing.T) {
	src := SourceFuncs[*machinev1alpha1.Machine]{}
	for _, opts := range []WatcherOptions{
		{RelistPeriod: -time.Second},
		{BackoffInitial: time.Minute, BackoffMax: time.Second},
	} {
		if _, err := NewWatcher[*machinev1alpha1.Machine](src, opts); err == nil {
			t.Errorf("NewWatcher(%+v) succeeded, want an error", opts)
		}
	}
	w, err := NewWatcher[*machinev1alpha1.Machine](src, WatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background(), nil); err == nil {
		t.Error("Run(nil handler) succeeded")
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	b := backoff{initial: 100 * time.Millisecond, max: time.Second}
	var last time.Duration
	for range 10 {
		last = b.next()
		if last > time.Second {
			t.Fatalf("delay %s exceeds the cap", last)
		}
	}
	if last < 500*time.Millisecond {
		t.Errorf("delay after 10 failures is %s, want at least half the cap", last)
	}
	b.reset()
	if d := b.next(); d < 50*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("first delay after reset = %s, want 50ms..100ms", d)
	}
}

// The runtime restarts on the same socket: the connection comes back by
// itself and the re-list reports what changed while it was gone.
func TestWatcherSurvivesServerRestart(t *testing.T) {
	f := newFakeMachines(machine("m1", "c", pending), machine("m2", "c", pending))
	path := filepath.Join(t.TempDir(), "r.sock")
	start := func() (stop func()) {
		srv, err := NewServer(ServeOptions{SocketPath: path, Register: registerFake(f)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	stop := start()
	rt := connectFake(t, "unix://"+path)
	r := startWatcher(t, rt, fastOpts())
	r.expect(t, "ADDED m1 MACHINE_PENDING", "ADDED m2 MACHINE_PENDING", "SYNCED")

	stop()
	eventually(t, "the watcher to notice", func() bool { return r.w.Status().Err != nil })
	f.apply(change{del: "m2"}, change{put: machine("m3", "c", running)})
	stop = start()
	defer stop()
	r.expect(t, "ADDED m3 MACHINE_RUNNING", "DELETED m2 MACHINE_PENDING")
	eventually(t, "a healthy status", func() bool { return r.w.Status().Err == nil })
}

// The cache keeps what Strip left and hands out copies: a caller changing what Get returned
// changes nothing cached.
func TestWatcherStripAndCopies(t *testing.T) {
	m := machine("m1", "c", pending)
	m.Spec.IgnitionData = []byte("secret ignition")
	f := newFakeMachines(m)
	rt := connectFake(t, serveFake(t, f))
	opts := fastOpts()
	opts.Strip = func(o proto.Message) { o.(*machinev1alpha1.Machine).Spec.IgnitionData = nil }
	r := startWatcher(t, rt, opts)
	r.expect(t, "ADDED m1 MACHINE_PENDING", "SYNCED")

	got, ok := r.w.Get("m1")
	if !ok || got.GetSpec().GetIgnitionData() != nil || got.GetSpec().GetClass() != "c" {
		t.Fatalf("cache m1 = %v, %v; want class c without ignition", got, ok)
	}
	got.Spec.Class = "changed"
	got.Metadata.Labels["app"] = "changed"
	if again, _ := r.w.Get("m1"); again.GetSpec().GetClass() != "c" || again.GetMetadata().GetLabels()["app"] != "test" {
		t.Fatalf("a change to a returned object reached the cache: %v", again)
	}
	// Only the stripped field changing is no change.
	m2 := machine("m1", "c", pending)
	m2.Spec.IgnitionData = []byte("other ignition")
	f.apply(change{put: m2})
	r.expectNothing(t, 100*time.Millisecond)
}
