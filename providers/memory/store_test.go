package memory

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

func TestCreateIsIdempotentPerUID(t *testing.T) {
	p := newProvider(t, nil)
	first, err := p.Machines.Create(newMachine("m-small", uidLabels("uid-1")))
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Machines.Create(newMachine("m-small", uidLabels("uid-1")))
	if err != nil {
		t.Fatal(err)
	}
	if again.Metadata.Id != first.Metadata.Id {
		t.Fatalf("retried create minted %s, want existing %s", again.Metadata.Id, first.Metadata.Id)
	}
	if n := p.Machines.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
	if used := p.Machines.Usage()["m-small"]; used != 1 {
		t.Fatalf("usage = %d, want 1: a retry must not take capacity", used)
	}
}

func TestConcurrentCreatesWithOneUIDYieldOneObject(t *testing.T) {
	p := newProvider(t, nil)
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := p.Machines.Create(newMachine("m-small", uidLabels("same")))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = m.Metadata.Id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent creates returned different ids: %v", ids)
		}
	}
	got, _ := p.Machines.List(Filter{Labels: map[string]string{labels.MachineUIDLabel: "same"}})
	if len(got) != 1 {
		t.Fatalf("list by UID label = %d machines, want 1", len(got))
	}
}

func TestDeleteListAndIDValidation(t *testing.T) {
	p := newProvider(t, nil)
	m, err := p.Machines.Create(newMachine("m-small", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(m.Metadata.Id) {
		t.Fatalf("minted id %q is not valid", m.Metadata.Id)
	}
	unknown := strings.Repeat("0", IDLength)
	if err := p.Machines.Delete(unknown); err != nil {
		t.Fatalf("delete of a missing id: %v, want success", err)
	}
	if got, err := p.Machines.List(Filter{ID: unknown}); err != nil || len(got) != 0 {
		t.Fatalf("list by unknown id = %d, %v; want empty", len(got), err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("G", IDLength), strings.Repeat("a", IDLength+1), "../../etc"} {
		if bad != "" {
			_, err := p.Machines.List(Filter{ID: bad})
			wantKind(t, err, runtimeerr.ErrInvalid)
		}
		wantKind(t, p.Machines.Delete(bad), runtimeerr.ErrInvalid)
		wantKind(t, p.Machines.UpdateAnnotations(bad, nil), runtimeerr.ErrInvalid)
	}
	wantKind(t, p.Machines.UpdateAnnotations(unknown, nil), runtimeerr.ErrNotFound)
	if err := p.Machines.Delete(m.Metadata.Id); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Machines.List(Filter{ID: m.Metadata.Id}); len(got) != 0 {
		t.Fatalf("machine still listed after instant delete")
	}
	if used := p.Machines.Usage()["m-small"]; used != 0 {
		t.Fatalf("usage after delete = %d, want 0", used)
	}
}

func TestListFilters(t *testing.T) {
	p := newProvider(t, nil)
	a, _ := p.Machines.Create(newMachine("m-small", map[string]string{"app": "a", "tier": "web", labels.MachineUIDLabel: "ua"}))
	b, _ := p.Machines.Create(newMachine("m-small", map[string]string{"app": "b", "tier": "web"}))
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{a.Metadata.Id, b.Metadata.Id}},
		{"one label", Filter{Labels: map[string]string{"tier": "web"}}, []string{a.Metadata.Id, b.Metadata.Id}},
		{"all labels must match", Filter{Labels: map[string]string{"tier": "web", "app": "b"}}, []string{b.Metadata.Id}},
		{"no match", Filter{Labels: map[string]string{"app": "c"}}, nil},
		{"by id", Filter{ID: a.Metadata.Id}, []string{a.Metadata.Id}},
		{"id and mismatching label", Filter{ID: a.Metadata.Id, Labels: map[string]string{"app": "b"}}, nil},
		{"uid index", Filter{Labels: map[string]string{labels.MachineUIDLabel: "ua"}}, []string{a.Metadata.Id}},
		{"uid index and other label", Filter{Labels: map[string]string{labels.MachineUIDLabel: "ua", "app": "b"}}, nil},
	}
	for _, c := range cases {
		got, err := p.Machines.List(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ids []string
		for _, m := range got {
			ids = append(ids, m.Metadata.Id)
		}
		if strings.Join(ids, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", c.name, ids, c.want)
		}
	}
}

func TestReturnedObjectsAreCopies(t *testing.T) {
	p := newProvider(t, nil)
	in := newMachine("m-small", map[string]string{"a": "1"})
	m, _ := p.Machines.Create(in)
	in.Metadata.Labels["a"] = "changed-input"
	m.Metadata.Labels["a"] = "changed-output"
	listed, _ := p.Machines.List(Filter{ID: m.Metadata.Id})
	listed[0].Spec.Class = "changed-list"
	got, _ := p.Machines.Get(m.Metadata.Id)
	if got.Metadata.Labels["a"] != "1" || got.Spec.Class != "m-small" {
		t.Fatalf("store was changed through a returned or given object: %v", got)
	}
}

func TestCapacityExhausted(t *testing.T) {
	p := newProvider(t, func(c *Config) { c.MachineClasses[0].Capacity = 2 })
	for i := 0; i < 2; i++ {
		if _, err := p.Machines.Create(newMachine("m-small", nil)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := p.Machines.Create(newMachine("m-small", uidLabels("late")))
	wantKind(t, err, runtimeerr.ErrExhausted)
	// The rejected create leaves a warning findable by the poollet's label.
	evs := p.MachineEvents().List(EventFilter{Labels: map[string]string{labels.MachineUIDLabel: "late"}})
	if len(evs) != 1 || evs[0].Spec.Type != EventWarning || evs[0].Spec.Reason != "CapacityExhausted" {
		t.Fatalf("events = %v, want one CapacityExhausted warning", evs)
	}
	// Status keeps reporting the total, not what is left.
	if q := p.Machines.Status()[0].Quantity; q != 2 {
		t.Fatalf("Status quantity = %d, want total 2", q)
	}
}

func TestGenerationAndObservedGeneration(t *testing.T) {
	p := newProvider(t, nil)
	m, _ := p.Machines.Create(newMachine("m-small", nil))
	if m.Metadata.Generation != 1 || m.Status.ObservedGeneration != 1 || m.Status.State != machinev1alpha1.MachineState_MACHINE_RUNNING {
		t.Fatalf("new machine: generation %d, observed %d, state %s", m.Metadata.Generation, m.Status.ObservedGeneration, m.Status.State)
	}
	id := m.Metadata.Id
	if err := p.Machines.UpdateAnnotations(id, map[string]string{"x": "y"}); err != nil {
		t.Fatal(err)
	}
	m, _ = p.Machines.Get(id)
	if m.Metadata.Generation != 1 || m.Metadata.Annotations["x"] != "y" {
		t.Fatalf("annotations update: generation %d (want 1), annotations %v", m.Metadata.Generation, m.Metadata.Annotations)
	}
	if err := p.Machines.SetPower(id, machinev1alpha1.Power_POWER_OFF); err != nil {
		t.Fatal(err)
	}
	m, _ = p.Machines.Get(id)
	if m.Metadata.Generation != 2 || m.Status.ObservedGeneration != 2 || m.Status.State != machinev1alpha1.MachineState_MACHINE_SUSPENDED {
		t.Fatalf("after power off: generation %d, observed %d, state %s", m.Metadata.Generation, m.Status.ObservedGeneration, m.Status.State)
	}
	if err := p.Machines.SetPower(id, machinev1alpha1.Power_POWER_OFF); err != nil {
		t.Fatal(err)
	}
	if m, _ = p.Machines.Get(id); m.Metadata.Generation != 2 {
		t.Fatalf("setting the same power bumped the generation to %d", m.Metadata.Generation)
	}
}

func TestDelayedTransitions(t *testing.T) {
	const delay = 40 * time.Millisecond
	p := newProvider(t, func(c *Config) { c.StateDelay.Duration = delay })
	m, _ := p.Machines.Create(newMachine("m-small", nil))
	id := m.Metadata.Id
	if m.Status.State != machinev1alpha1.MachineState_MACHINE_PENDING || m.Status.ObservedGeneration != 0 {
		t.Fatalf("delayed create returned state %s, observed %d; want PENDING, 0", m.Status.State, m.Status.ObservedGeneration)
	}
	waitFor(t, "machine running", func() bool {
		m, _ := p.Machines.Get(id)
		return m.Status.State == machinev1alpha1.MachineState_MACHINE_RUNNING && m.Status.ObservedGeneration == 1
	})
	if err := p.Machines.Delete(id); err != nil {
		t.Fatal(err)
	}
	m, err := p.Machines.Get(id)
	if err != nil || m.Metadata.DeletedAt == 0 || m.Status.State != machinev1alpha1.MachineState_MACHINE_TERMINATING {
		t.Fatalf("right after delayed delete: %v, %v; want TERMINATING with deleted_at", m, err)
	}
	wantKind(t, p.Machines.SetPower(id, machinev1alpha1.Power_POWER_OFF), runtimeerr.ErrFailedPrecondition)
	if err := p.Machines.Delete(id); err != nil {
		t.Fatalf("second delete while deleting: %v", err)
	}
	waitFor(t, "machine gone", func() bool {
		_, err := p.Machines.Get(id)
		return err != nil
	})
}

func TestEventLogIsBoundedAndFiltered(t *testing.T) {
	p := newProvider(t, func(c *Config) { c.EventCapacity = 5 })
	var ids []string
	for i := 0; i < 4; i++ {
		m, _ := p.Machines.Create(newMachine("m-small", map[string]string{"n": string(rune('a' + i))}))
		ids = append(ids, m.Metadata.Id)
	}
	all := p.MachineEvents().List(EventFilter{})
	if len(all) != 5 {
		t.Fatalf("ring holds %d events, want its capacity 5", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Spec.EventTime < all[i-1].Spec.EventTime {
			t.Fatalf("events not oldest first")
		}
	}
	byID := p.MachineEvents().List(EventFilter{ID: ids[3]})
	if len(byID) == 0 || byID[0].Spec.InvolvedObjectMeta.Id != ids[3] {
		t.Fatalf("events by id = %v", byID)
	}
	byLabel := p.MachineEvents().List(EventFilter{Labels: map[string]string{"n": "d"}})
	if len(byLabel) != len(byID) {
		t.Fatalf("events by label = %d, by id = %d", len(byLabel), len(byID))
	}
	future := time.Now().Add(time.Hour).Unix() // event times are Unix seconds
	if got := p.MachineEvents().List(EventFilter{FromTime: future}); len(got) != 0 {
		t.Fatalf("events from the future = %d", len(got))
	}
	if got := p.MachineEvents().List(EventFilter{ToTime: all[0].Spec.EventTime}); len(got) == 0 {
		t.Fatalf("to_time is inclusive, got none")
	}
}

func TestWatchInitialListAndChanges(t *testing.T) {
	p := newProvider(t, nil)
	sel := map[string]string{"w": "1"}
	before, _ := p.Machines.Create(newMachine("m-small", sel))
	_, _ = p.Machines.Create(newMachine("m-small", map[string]string{"w": "other"}))
	w, initial, err := p.Machines.Watch(Filter{Labels: sel}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if len(initial) != 1 || initial[0].Metadata.Id != before.Metadata.Id {
		t.Fatalf("initial list = %v", initial)
	}
	after, _ := p.Machines.Create(newMachine("m-small", sel))
	_ = p.Machines.UpdateAnnotations(after.Metadata.Id, map[string]string{"a": "b"})
	_ = p.Machines.Delete(after.Metadata.Id)
	want := []WatchEventType{WatchAdded, WatchModified, WatchDeleted}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, typ := range want {
		ev, err := w.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != typ || ev.Object.Metadata.Id != after.Metadata.Id {
			t.Fatalf("event %d for %s, want %d for %s", ev.Type, ev.Object.Metadata.Id, typ, after.Metadata.Id)
		}
	}
}

func TestSlowWatcherIsDroppedNotBlocking(t *testing.T) {
	p := newProvider(t, func(c *Config) { c.WatchBufferSize = 2 })
	w, _, _ := p.Machines.Watch(Filter{}, false)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10; i++ {
			_, _ = p.Machines.Create(newMachine("m-small", nil))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("creates blocked on a watcher that does not read")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A dropped watcher reports the drop at once, even with events queued.
	_, err := w.Next(ctx)
	wantKind(t, err, runtimeerr.ErrExhausted)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCollector(t *testing.T) {
	p := newProvider(t, nil)
	_, _ = p.Machines.Create(newMachine("m-large", nil))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"ironfed_memory_provider_objects,kind=machine":                      1,
		"ironfed_memory_provider_objects,kind=volume":                       0,
		"ironfed_memory_provider_class_used,class=m-large,kind=machine":     1,
		"ironfed_memory_provider_class_used,class=m-small,kind=machine":     0,
		"ironfed_memory_provider_class_capacity,class=m-large,kind=machine": 100,
		"ironfed_memory_provider_class_capacity,class=standard,kind=bucket": 1000,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
