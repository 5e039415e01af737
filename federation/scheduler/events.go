package scheduler

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// bindEventShare is the share of the binds completed so far that Events may match while binds
// are in flight: an Event costs the apiserver about what a bind costs, so written as they come
// they took about a third of the bind rate. The rest wait until no bind is in flight.
const bindEventShare = 10

// bindEvents queues the Normal "Scheduled" Event of each bind and writes them in the background,
// yielding to binds: while binds are in flight it writes at most one Event per bindEventShare
// binds; once none is, all that wait. Every bind still gets its Event, later under a burst.
type bindEvents struct {
	mu      sync.Mutex
	queue   []boundObject
	binding int   // binds in flight
	bound   int64 // binds completed in this busy period
	written int64 // Events written in this busy period
	wake    chan struct{}
}

type boundObject struct {
	key  types.NamespacedName
	pool string
}

func newBindEvents() *bindEvents { return &bindEvents{wake: make(chan struct{}, 1)} }

func (e *bindEvents) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// started notes a bind sent. The first of a busy period starts the share's count afresh.
func (e *bindEvents) started() {
	e.mu.Lock()
	if e.binding == 0 {
		e.bound, e.written = 0, 0
	}
	e.binding++
	e.mu.Unlock()
}

// finished notes a bind done; ok queues its Event.
func (e *bindEvents) finished(key types.NamespacedName, pool string, ok bool) {
	e.mu.Lock()
	e.binding--
	if ok {
		e.bound++
		e.queue = append(e.queue, boundObject{key: key, pool: pool})
	}
	e.mu.Unlock()
	e.poke()
}

// next returns the Event to write now, if any may be written.
func (e *bindEvents) next() (boundObject, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.queue) == 0 {
		return boundObject{}, false
	}
	if e.binding > 0 {
		if e.written*bindEventShare >= e.bound {
			return boundObject{}, false
		}
		e.written++
	}
	b := e.queue[0]
	e.queue[0] = boundObject{}
	e.queue = e.queue[1:]
	if len(e.queue) == 0 {
		e.queue = nil // let the backing array go after a burst
	}
	return b, true
}

// runBindEvents writes the queued Events until ctx ends.
func (s *Scheduler[O, P]) runBindEvents(ctx context.Context) {
	for {
		for {
			b, ok := s.events.next()
			if !ok {
				break
			}
			obj := s.adapter.NewObject()
			obj.SetNamespace(b.key.Namespace)
			obj.SetName(b.key.Name)
			s.recorder.Eventf(obj, nil, corev1.EventTypeNormal, commonv1alpha1.ReasonScheduled, "Schedule",
				"Bound to %s %s", s.adapter.Kind+"Pool", b.pool)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.events.wake:
		}
	}
}
