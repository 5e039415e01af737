package libvirt

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

// eventLog is a bounded ring of events (iri/eventlog); the oldest is dropped when full.
type eventLog struct{ log *eventlog.Log }

func newEventLog(capacity int) *eventLog { return &eventLog{log: eventlog.New(capacity)} }

// record stores an event about the object with metadata md at at (Unix seconds, IronCore's unit).
// The provider's metadata changes in place, so the event keeps a copy.
func (l *eventLog) record(md *metav1alpha1.ObjectMetadata, typ, reason, message string, at int64) {
	l.log.Add(proto.Clone(md).(*metav1alpha1.ObjectMetadata), at, eventlog.Event{Type: typ, Reason: reason, Message: message})
}

// list returns copies of the matching events, oldest first. Times are Unix seconds, inclusive;
// bounds only nanoseconds can be are converted.
func (l *eventLog) list(id string, sel map[string]string, from, to int64) []*eventv1alpha1.Event {
	evs := l.log.List(eventlog.Filter{ID: id, Labels: sel, FromTime: from, ToTime: to})
	for i, ev := range evs {
		evs[i] = proto.Clone(ev).(*eventv1alpha1.Event)
	}
	return evs
}

// matches says whether md has id (when set) and every label of sel: the IRI filters' semantics.
func matches(md *metav1alpha1.ObjectMetadata, id string, sel map[string]string) bool {
	return eventlog.Matches(md, id, sel)
}
