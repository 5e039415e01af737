package libvirt

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

// eventLog is a bounded ring of events; the oldest is dropped when full.
type eventLog struct {
	mu   sync.Mutex
	buf  []*eventv1alpha1.Event
	next int
	full bool
}

func newEventLog(capacity int) *eventLog {
	return &eventLog{buf: make([]*eventv1alpha1.Event, capacity)}
}

// record stores an event about the object with metadata md at at (Unix seconds, IronCore's unit).
func (l *eventLog) record(md *metav1alpha1.ObjectMetadata, typ, reason, message string, at int64) {
	ev := &eventv1alpha1.Event{Spec: &eventv1alpha1.EventSpec{
		InvolvedObjectMeta: proto.Clone(md).(*metav1alpha1.ObjectMetadata),
		Reason:             reason,
		Message:            message,
		Type:               typ,
		EventTime:          at,
	}}
	l.mu.Lock()
	l.buf[l.next] = ev
	l.next++
	if l.next == len(l.buf) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// list returns copies of the events matching f, oldest first. Times are Unix seconds, inclusive.
func (l *eventLog) list(id string, sel map[string]string, from, to int64) []*eventv1alpha1.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*eventv1alpha1.Event
	visit := func(evs []*eventv1alpha1.Event) {
		for _, ev := range evs {
			if ev == nil {
				continue
			}
			s := ev.Spec
			if (from != 0 && s.EventTime < from) || (to != 0 && s.EventTime > to) {
				continue
			}
			if !matches(s.InvolvedObjectMeta, id, sel) {
				continue
			}
			out = append(out, proto.Clone(ev).(*eventv1alpha1.Event))
		}
	}
	if l.full {
		visit(l.buf[l.next:])
	}
	visit(l.buf[:l.next])
	return out
}

func matches(md *metav1alpha1.ObjectMetadata, id string, sel map[string]string) bool {
	if id != "" && md.GetId() != id {
		return false
	}
	for k, v := range sel {
		if got, ok := md.GetLabels()[k]; !ok || got != v {
			return false
		}
	}
	return true
}
