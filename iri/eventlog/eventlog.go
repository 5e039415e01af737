// Package eventlog is the bounded event log every provider serves ListEvents from: a ring that
// drops the oldest event when full, so a provider's memory stays flat however long it runs.
// Event times are Unix seconds (IronCore's unit for events).
package eventlog

import (
	"sync"
	"time"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// Event types, as in Kubernetes.
const (
	Normal  = "Normal"
	Warning = "Warning"
)

// DefaultCapacity is New's capacity when none is given.
const DefaultCapacity = 10000

// Event is what an operation reports about an object; the log adds the object and the time.
type Event struct {
	Type, Reason, Action, Message string
}

// Filter selects events; empty fields match everything. FromTime and ToTime are inclusive Unix
// seconds; a bound that can only be nanoseconds (beyond the year 5000 in seconds) is converted,
// since some clients send nanoseconds.
type Filter struct {
	ID       string
	Labels   map[string]string
	FromTime int64
	ToTime   int64
}

// Log is a bounded ring of events.
type Log struct {
	mu   sync.Mutex
	buf  []*eventv1alpha1.Event
	next int
	full bool
}

// New returns a log holding at most capacity events (DefaultCapacity if capacity <= 0).
func New(capacity int) *Log {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Log{buf: make([]*eventv1alpha1.Event, capacity)}
}

// Add stores evs about the object with metadata md at time at (Unix seconds). The events share
// md: the caller must not mutate it afterwards (providers store immutable snapshots, or a copy).
func (l *Log) Add(md *metav1alpha1.ObjectMetadata, at int64, evs ...Event) {
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

// List returns the events matching f, oldest first. They are shared: callers only read or
// marshal them.
func (l *Log) List(f Filter) []*eventv1alpha1.Event {
	from, to := ToSeconds(f.FromTime), ToSeconds(f.ToTime)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*eventv1alpha1.Event
	visit := func(evs []*eventv1alpha1.Event) {
		for _, ev := range evs {
			if ev == nil {
				continue
			}
			s := ev.Spec
			if (from != 0 && s.EventTime < from) || (to != 0 && s.EventTime > to) || !Matches(s.InvolvedObjectMeta, f.ID, f.Labels) {
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

// Matches says whether md has id (when set) and every label of sel.
func Matches(md *metav1alpha1.ObjectMetadata, id string, sel map[string]string) bool {
	if id != "" && md.GetId() != id {
		return false
	}
	have := md.GetLabels()
	for k, v := range sel {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// maxSeconds is 5000-01-01 in Unix seconds; larger times are nanoseconds.
const maxSeconds = 95617584000

// ToSeconds maps a Unix time that can only be in nanoseconds to seconds; seconds pass unchanged.
func ToSeconds(t int64) int64 {
	if t > maxSeconds || t < -maxSeconds {
		return t / int64(time.Second)
	}
	return t
}
