package eventlog

import (
	"testing"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

func TestLog(t *testing.T) {
	l := New(3)
	a := &metav1alpha1.ObjectMetadata{Id: "a", Labels: map[string]string{"k": "v"}}
	b := &metav1alpha1.ObjectMetadata{Id: "b"}
	l.Add(a, 100, Event{Type: Normal, Reason: "First"})
	l.Add(b, 200, Event{Type: Normal, Reason: "Other"})
	l.Add(a, 300, Event{Type: Warning, Reason: "Second"}, Event{Type: Normal, Reason: "Third"})
	// Four added to a ring of three: the oldest is gone, the rest oldest first.
	var reasons []string
	for _, ev := range l.List(Filter{}) {
		reasons = append(reasons, ev.Spec.Reason)
	}
	if len(reasons) != 3 || reasons[0] != "Other" || reasons[2] != "Third" {
		t.Fatalf("events %v, want [Other Second Third]", reasons)
	}
	for _, c := range []struct {
		name string
		f    Filter
		want int
	}{
		{"by id", Filter{ID: "a"}, 2},
		{"by label", Filter{Labels: map[string]string{"k": "v"}}, 2},
		{"by a label no object has", Filter{Labels: map[string]string{"k": "w"}}, 0},
		{"from, inclusive", Filter{FromTime: 300}, 2},
		{"to, inclusive", Filter{ToTime: 200}, 1},
		{"nanosecond bounds", Filter{FromTime: 200e9, ToTime: 200e9}, 1},
		{"an unknown id", Filter{ID: "c"}, 0},
	} {
		if got := len(l.List(c.f)); got != c.want {
			t.Errorf("%s: %d events, want %d", c.name, got, c.want)
		}
	}
	if ev := l.List(Filter{ID: "a"})[0]; ev.Spec.Type != Warning || ev.Spec.EventTime != 300 || ev.Spec.InvolvedObjectMeta != a {
		t.Errorf("event %v: want the Warning at 300 about a", ev)
	}
	if New(0) == nil || len(New(0).buf) != DefaultCapacity {
		t.Error("New(0) does not hold DefaultCapacity events")
	}
}
