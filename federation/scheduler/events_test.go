package scheduler

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// While binds are in flight, bind Events yield: one per bindEventShare binds; once none is, all
// that wait are written, in bind order.
func TestBindEventsYieldToBinds(t *testing.T) {
	e := newBindEvents()
	key := func(i int) types.NamespacedName {
		return types.NamespacedName{Namespace: "ns", Name: string(rune('a' + i))}
	}
	drain := func() (n int) {
		for {
			if _, ok := e.next(); !ok {
				return n
			}
			n++
		}
	}
	e.started() // one bind stays in flight throughout the burst
	for i := range 2 * bindEventShare {
		e.started()
		e.finished(key(i), "p", true)
	}
	if got := drain(); got != 2 {
		t.Fatalf("%d Events written during %d binds in flight, want 2", got, 2*bindEventShare)
	}
	e.finished(key(25), "p", false) // the last bind fails: no Event
	var order []string
	for {
		b, ok := e.next()
		if !ok {
			break
		}
		order = append(order, b.key.Name)
	}
	if len(order) != 2*bindEventShare-2 || order[0] != key(2).Name {
		t.Fatalf("after the binds: %v, want the %d remaining Events from %q on", order, 2*bindEventShare-2, key(2).Name)
	}
}
