package objstore

import (
	"time"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/eventlog"
)

// Event types, as in Kubernetes.
const (
	EventNormal  = eventlog.Normal
	EventWarning = eventlog.Warning
)

// Event is what an operation reports about an object.
type Event = eventlog.Event

// Normal and Warning build events.
func Normal(reason, action, message string) Event {
	return Event{Type: EventNormal, Reason: reason, Action: action, Message: message}
}

func Warning(reason, action, message string) Event {
	return Event{Type: EventWarning, Reason: reason, Action: action, Message: message}
}

// EventFilter selects events (iri/eventlog): empty fields match everything; FromTime and ToTime
// are inclusive Unix seconds, as upstream poollets send them, and bounds that can only be
// nanoseconds are converted, so older ironfed callers keep working.
type EventFilter = eventlog.Filter

// EventLog is a bounded ring buffer of events (iri/eventlog): the oldest is dropped when it is
// full. Event times are Unix seconds (IronCore's convention).
type EventLog struct {
	log *eventlog.Log
	now func() time.Time
}

// NewEventLog returns a log holding at most capacity events (default 10000).
func NewEventLog(capacity int) *EventLog {
	return &EventLog{log: eventlog.New(capacity), now: time.Now}
}

// Record stores ev about the object with metadata md, which must not be
// mutated afterwards (index snapshots are immutable).
func (l *EventLog) Record(md *metav1alpha1.ObjectMetadata, evs ...Event) {
	l.log.Add(md, l.now().Unix(), evs...)
}

// List returns the matching events, oldest first. They are shared: callers
// only marshal them.
func (l *EventLog) List(f EventFilter) []*eventv1alpha1.Event { return l.log.List(f) }
