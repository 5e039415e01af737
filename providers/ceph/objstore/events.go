package objstore

import (
	"sync"
	"time"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// Event types, as in Kubernetes.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Event is what an operation reports about an object.
type Event struct {
	Type, Reason, Action, Message string
}

// Normal and Warning build events.
func Normal(reason, action, message string) Event {
	return Event{Type: EventNormal, Reason: reason, Action: action, Message: message}
}

func Warning(reason, action, message string) Event {
	return Event{Type: EventWarning, Reason: reason, Action: action, Message: message}
}

// EventFilter selects events; empty fields match everything. FromTime and
// ToTime are inclusive Unix seconds, as upstream poollets send them; values
// that can only be nanoseconds (beyond the year 5000 in seconds) are
// converted, so older ironfed callers keep working.
type EventFilter struct {
	ID       string
	Labels   map[string]string
	FromTime int64
	ToTime   int64
}

// EventLog is a bounded ring buffer of events: the oldest is dropped when
// it is full. Event times are Unix seconds (IronCore's convention).
type EventLog struct {
	mu   sync.Mutex
	buf  []*eventv1alpha1.Event
	next int
	full bool
	now  func() time.Time
}

// NewEventLog returns a log holding at most capacity events (default 10000).
func NewEventLog(capacity int) *EventLog {
	if capacity <= 0 {
		capacity = 10000
	}
	return &EventLog{buf: make([]*eventv1alpha1.Event, capacity), now: time.Now}
}

// Record stores ev about the object with metadata md, which must not be
// mutated afterwards (index snapshots are immutable).
func (l *EventLog) Record(md *metav1alpha1.ObjectMetadata, evs ...Event) {
	at := l.now().Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range evs {
		l.buf[l.next] = &eventv1alpha1.Event{Spec: &eventv1alpha1.EventSpec{
			InvolvedObjectMeta: md, Reason: e.Reason, Message: e.Message, Type: e.Type, EventTime: at, Action: e.Action,
		}}
		l.next++
		if l.next == len(l.buf) {
			l.next, l.full = 0, true
		}
	}
}

// List returns the matching events, oldest first. They are shared: callers
// only marshal them.
func (l *EventLog) List(f EventFilter) []*eventv1alpha1.Event {
	from, to := toSeconds(f.FromTime), toSeconds(f.ToTime)
	match := Filter{ID: f.ID, Labels: f.Labels}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*eventv1alpha1.Event
	visit := func(evs []*eventv1alpha1.Event) {
		for _, ev := range evs {
			if ev == nil {
				continue
			}
			s := ev.Spec
			if (from != 0 && s.EventTime < from) || (to != 0 && s.EventTime > to) || !match.Matches(s.InvolvedObjectMeta) {
				continue
			}
			out = append(out, ev)
		}
	}
	if l.full {
		visit(l.buf[l.next:])
	}
	visit(l.buf[:l.next])
	return out
}

// maxSeconds is 5000-01-01 in Unix seconds; larger times are nanoseconds.
const maxSeconds = 95617584000

func toSeconds(t int64) int64 {
	if t > maxSeconds || t < -maxSeconds {
		return t / int64(time.Second)
	}
	return t
}
