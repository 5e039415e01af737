package common

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
)

func testHub(buffer int) *Hub[*computev1alpha1.Machine, *machinev1alpha1.Machine] {
	s := &Store[*computev1alpha1.Machine, *machinev1alpha1.Machine]{
		Broker: &Broker{Log: logr.Discard()},
		A: Adapter[*computev1alpha1.Machine, *machinev1alpha1.Machine]{
			Kind: "Machine",
			ToIRI: func(_ *Broker, m *computev1alpha1.Machine) (*machinev1alpha1.Machine, error) {
				return &machinev1alpha1.Machine{Metadata: IRIMetadata(m)}, nil
			},
		},
	}
	h := newHub(s)
	h.Buffer = buffer
	return h
}

func machineN(i int) *computev1alpha1.Machine {
	m := &computev1alpha1.Machine{}
	m.Name, m.UID, m.ResourceVersion = "m"+strconv.Itoa(i), "u", strconv.Itoa(i)
	m.Labels = map[string]string{CreatedLabel: "true"}
	return m
}

func TestWatchDropsSlowWatcher(t *testing.T) {
	h := testHub(2)
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- h.Watch(context.Background(), "", nil, false, func(typ EventType, _ *machinev1alpha1.Machine) error {
			if typ == Bookmark {
				close(started)
				return nil
			}
			<-release // a receiver that does not keep up
			return nil
		})
	}()
	<-started
	for i := 0; i < 10; i++ {
		h.dispatch(Added, machineN(i))
	}
	close(release)
	select {
	case err := <-done:
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("slow watcher ended with %v; want ResourceExhausted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow watcher was not dropped")
	}
}

func TestWatchFiltersAndOrders(t *testing.T) {
	h := testHub(16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan EventType, 16)
	go func() {
		_ = h.Watch(ctx, "m1", nil, false, func(typ EventType, _ *machinev1alpha1.Machine) error { got <- typ; return nil })
	}()
	if typ := <-got; typ != Bookmark {
		t.Fatalf("first event %v, want Bookmark", typ)
	}
	h.dispatch(Added, machineN(0)) // other id: filtered
	h.dispatch(Added, machineN(1))
	h.dispatch(Added, machineN(1)) // seen already: a change
	h.dispatch(Deleted, machineN(1))
	for _, want := range []EventType{Added, Modified, Deleted} {
		if typ := <-got; typ != want {
			t.Fatalf("event %v, want %v", typ, want)
		}
	}
}
