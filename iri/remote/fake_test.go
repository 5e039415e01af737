package remote

import (
	"context"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// fakeMachines is a machine runtime with just enough behaviour for the
// client and Watcher tests: Version, List, Create and Watch, plus switches
// to misbehave.
type fakeMachines struct {
	machinev1alpha1.UnimplementedMachineRuntimeServer

	watchUnimplemented atomic.Bool // answer WatchMachines like an upstream runtime
	watchDown          atomic.Bool // refuse new watches with Unavailable
	noBookmark         atomic.Bool // never finish the initial list
	listBlocks         atomic.Bool // ListMachines waits for the caller to give up
	createIncomplete   atomic.Bool // CreateMachine answers without a machine
	versionErr         atomic.Pointer[status.Status]
	watchCalls         atomic.Int32
	panicOnList        atomic.Bool

	mu       sync.Mutex
	machines map[string]*machinev1alpha1.Machine
	watchers map[*fakeWatch]struct{}
	seq      uint64
}

type fakeWatch struct {
	events chan *machinev1alpha1.WatchMachinesEvent
	drop   chan *status.Status
}

func newFakeMachines(ms ...*machinev1alpha1.Machine) *fakeMachines {
	f := &fakeMachines{machines: map[string]*machinev1alpha1.Machine{}, watchers: map[*fakeWatch]struct{}{}}
	for _, m := range ms {
		f.machines[m.GetMetadata().GetId()] = m
	}
	return f
}

func machine(id, class string, state machinev1alpha1.MachineState) *machinev1alpha1.Machine {
	return &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{Id: id, Labels: map[string]string{"app": "test"}, CreatedAt: testCreatedAt},
		Spec:     &machinev1alpha1.MachineSpec{Class: class},
		Status:   &machinev1alpha1.MachineStatus{State: state},
	}
}

// testCreatedAt is fixed so that re-putting a machine is a no-op.
var testCreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// change is one mutation: a machine to put, or an id to delete.
type change struct {
	put *machinev1alpha1.Machine
	del string
}

// apply makes all changes atomically and tells the watchers in order.
func (f *fakeMachines) apply(changes ...change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range changes {
		ev := &machinev1alpha1.WatchMachinesEvent{}
		if c.put != nil {
			id := c.put.GetMetadata().GetId()
			ev.Type = machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED
			if _, ok := f.machines[id]; ok {
				ev.Type = machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_MODIFIED
			}
			f.machines[id] = proto.Clone(c.put).(*machinev1alpha1.Machine)
			ev.Object = proto.Clone(c.put).(*machinev1alpha1.Machine)
		} else {
			old, ok := f.machines[c.del]
			if !ok {
				continue
			}
			delete(f.machines, c.del)
			ev.Type = machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_DELETED
			ev.Object = proto.Clone(old).(*machinev1alpha1.Machine)
		}
		for w := range f.watchers {
			w.events <- ev
		}
	}
}

// dropStreams ends every open watch with st.
func (f *fakeMachines) dropStreams(st *status.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watchers {
		w.drop <- st
		delete(f.watchers, w)
	}
}

func (f *fakeMachines) watcherCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}

func (f *fakeMachines) sortedLocked() []*machinev1alpha1.Machine {
	ids := make([]string, 0, len(f.machines))
	for id := range f.machines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*machinev1alpha1.Machine, len(ids))
	for i, id := range ids {
		out[i] = proto.Clone(f.machines[id]).(*machinev1alpha1.Machine)
	}
	return out
}

func (f *fakeMachines) Version(context.Context, *machinev1alpha1.VersionRequest) (*machinev1alpha1.VersionResponse, error) {
	if st := f.versionErr.Load(); st != nil {
		return nil, st.Err()
	}
	return &machinev1alpha1.VersionResponse{RuntimeName: "fake", RuntimeVersion: "0.0.1"}, nil
}

func (f *fakeMachines) ListMachines(ctx context.Context, req *machinev1alpha1.ListMachinesRequest) (*machinev1alpha1.ListMachinesResponse, error) {
	if f.panicOnList.Load() {
		panic("fake list exploded")
	}
	if f.listBlocks.Load() {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*machinev1alpha1.Machine
	for _, m := range f.sortedLocked() {
		if id := req.GetFilter().GetId(); id == "" || id == m.GetMetadata().GetId() {
			out = append(out, m)
		}
	}
	return &machinev1alpha1.ListMachinesResponse{Machines: out}, nil
}

func (f *fakeMachines) CreateMachine(_ context.Context, req *machinev1alpha1.CreateMachineRequest) (*machinev1alpha1.CreateMachineResponse, error) {
	if f.createIncomplete.Load() {
		return &machinev1alpha1.CreateMachineResponse{}, nil
	}
	m := proto.Clone(req.GetMachine()).(*machinev1alpha1.Machine)
	if m.Metadata == nil {
		m.Metadata = &metav1alpha1.ObjectMetadata{}
	}
	m.Metadata.Id = "created"
	f.apply(change{put: m})
	return &machinev1alpha1.CreateMachineResponse{Machine: m}, nil
}

func (f *fakeMachines) WatchMachines(req *machinev1alpha1.WatchMachinesRequest, stream grpc.ServerStreamingServer[machinev1alpha1.WatchMachinesEvent]) error {
	f.watchCalls.Add(1)
	if f.watchUnimplemented.Load() {
		return f.UnimplementedMachineRuntimeServer.WatchMachines(req, stream)
	}
	if f.watchDown.Load() {
		return status.Error(codes.Unavailable, "fake: watch is down")
	}
	w := &fakeWatch{events: make(chan *machinev1alpha1.WatchMachinesEvent, 1000), drop: make(chan *status.Status, 1)}
	f.mu.Lock()
	initial := f.sortedLocked()
	f.watchers[w] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.watchers, w)
		f.mu.Unlock()
	}()
	send := func(ev *machinev1alpha1.WatchMachinesEvent) error {
		f.mu.Lock()
		f.seq++
		ev.Sequence = f.seq
		f.mu.Unlock()
		return stream.Send(ev)
	}
	if req.GetSendInitialList() {
		for _, m := range initial {
			if err := send(&machinev1alpha1.WatchMachinesEvent{Type: machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_ADDED, Object: m}); err != nil {
				return err
			}
		}
	}
	if !f.noBookmark.Load() {
		if err := send(&machinev1alpha1.WatchMachinesEvent{Type: machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_BOOKMARK}); err != nil {
			return err
		}
	}
	for {
		select {
		case ev := <-w.events:
			if err := send(ev); err != nil {
				return err
			}
		case st := <-w.drop:
			return st.Err()
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}

// serveFake serves f on a socket in a temporary directory until the test
// ends and returns its endpoint.
func serveFake(t *testing.T, f *fakeMachines) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.sock")
	srv, err := NewServer(ServeOptions{
		SocketPath: path,
		Register:   func(s *grpc.Server) { machinev1alpha1.RegisterMachineRuntimeServer(s, f) },
		Metrics:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "unix://" + path
}

// connectFake dials endpoint and returns a MachineRuntime over it.
func connectFake(t *testing.T, endpoint string, opts ...Option) MachineRuntime {
	t.Helper()
	ctx := context.Background()
	conn, err := Dial(ctx, endpoint, WithDialTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	rt, err := NewMachineRuntime(ctx, conn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}
