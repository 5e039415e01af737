package memory

import (
	"google.golang.org/protobuf/proto"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/eventlog"
)

// Event types, as in Kubernetes.
const (
	EventNormal  = eventlog.Normal
	EventWarning = eventlog.Warning
)

// eventRecord is what a transition reports; the store adds object and time.
type eventRecord = eventlog.Event

func normal(reason, action, message string) eventRecord {
	return eventRecord{Type: EventNormal, Reason: reason, Message: message, Action: action}
}

// EventFilter selects events; empty fields match everything, times are Unix
// seconds (IronCore's convention for events) and inclusive.
type EventFilter = eventlog.Filter

// EventLog is a bounded ring buffer of events (iri/eventlog): the oldest event
// is dropped when it is full, so memory stays flat however long the provider runs.
type EventLog struct{ log *eventlog.Log }

// NewEventLog returns a log holding at most capacity events.
func NewEventLog(capacity int) *EventLog {
	if capacity <= 0 {
		capacity = defaultEventCapacity
	}
	return &EventLog{log: eventlog.New(capacity)}
}

// record stores an event about the object with metadata md. md must not be
// mutated afterwards: stored objects are immutable snapshots, so the event
// shares the snapshot's metadata instead of copying it.
func (l *EventLog) record(md *metav1alpha1.ObjectMetadata, r eventRecord, at int64) {
	l.log.Add(md, at, r)
}

// list returns the matching events, oldest first. The events are shared:
// callers must not mutate them.
func (l *EventLog) list(f EventFilter) []*eventv1alpha1.Event { return l.log.List(f) }

// List returns copies of the matching events, oldest first.
func (l *EventLog) List(f EventFilter) []*eventv1alpha1.Event {
	evs := l.list(f)
	for i, ev := range evs {
		evs[i] = proto.Clone(ev).(*eventv1alpha1.Event)
	}
	return evs
}
