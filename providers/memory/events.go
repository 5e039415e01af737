package memory

import (
	"sync"

	"google.golang.org/protobuf/proto"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// Event types, as in Kubernetes.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// eventRecord is what a transition reports; the store adds object and time.
type eventRecord struct {
	Type, Reason, Message, Action string
}

func normal(reason, action, message string) eventRecord {
	return eventRecord{Type: EventNormal, Reason: reason, Message: message, Action: action}
}

// EventFilter selects events; empty fields match everything, times are Unix
// seconds (IronCore's convention for events) and inclusive.
type EventFilter struct {
	ID       string
	Labels   map[string]string
	FromTime int64
	ToTime   int64
}

// EventLog is a bounded ring buffer of events: the oldest event is dropped
// when it is full, so memory stays flat however long the provider runs.
type EventLog struct {
	mu   sync.Mutex
	buf  []*eventv1alpha1.Event
	next int
	full bool
}

// NewEventLog returns a log holding at most capacity events.
func NewEventLog(capacity int) *EventLog {
	if capacity <= 0 {
		capacity = defaultEventCapacity
	}
	return &EventLog{buf: make([]*eventv1alpha1.Event, capacity)}
}

// record stores an event about the object with metadata md. md must not be
// mutated afterwards: stored objects are immutable snapshots, so the event
// shares the snapshot's metadata instead of copying it.
func (l *EventLog) record(md *metav1alpha1.ObjectMetadata, r eventRecord, at int64) {
	ev := &eventv1alpha1.Event{Spec: &eventv1alpha1.EventSpec{
		InvolvedObjectMeta: md,
		Reason:             r.Reason,
		Message:            r.Message,
		Type:               r.Type,
		EventTime:          at,
		Action:             r.Action,
	}}
	l.mu.Lock()
	l.buf[l.next] = ev
	l.next++
	if l.next == len(l.buf) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// list returns the matching events, oldest first. The events are shared:
// callers must not mutate them.
func (l *EventLog) list(f EventFilter) []*eventv1alpha1.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*eventv1alpha1.Event
	visit := func(evs []*eventv1alpha1.Event) {
		for _, ev := range evs {
			if ev != nil && f.matches(ev.Spec) {
				out = append(out, ev)
			}
		}
	}
	if l.full {
		visit(l.buf[l.next:])
	}
	visit(l.buf[:l.next])
	return out
}

// List returns copies of the matching events, oldest first.
func (l *EventLog) List(f EventFilter) []*eventv1alpha1.Event {
	evs := l.list(f)
	for i, ev := range evs {
		evs[i] = proto.Clone(ev).(*eventv1alpha1.Event)
	}
	return evs
}

func (f EventFilter) matches(s *eventv1alpha1.EventSpec) bool {
	if f.FromTime != 0 && s.EventTime < f.FromTime {
		return false
	}
	if f.ToTime != 0 && s.EventTime > f.ToTime {
		return false
	}
	return Filter{ID: f.ID, Labels: f.Labels}.matches(s.InvolvedObjectMeta)
}
