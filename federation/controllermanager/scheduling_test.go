package controllermanager_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/controllermanager"
)

// TestMachineSchedulingFilters walks every filter with one pool failing each, then fills the only
// fitting pool and checks the unschedulable condition, event, and retries. It reads global
// scheduler metrics, so it does not run in parallel.
func TestMachineSchedulingFilters(t *testing.T) {
	var healthAddr string
	e := startEnv(t, func(o *controllermanager.Options) {
		healthAddr = freeAddr(t) // once the cluster runs: a port picked before may be taken by then
		o.HealthProbeBindAddress = healthAddr
	})
	ctx := t.Context()
	zoneA := map[string]string{"zone": "a"}
	gpuTaint := []commonv1alpha1.Taint{{Key: "dedicated", Value: "gpu", Effect: commonv1alpha1.TaintEffectNoSchedule}}
	for _, p := range []poolSpec{
		{name: "not-ready", labels: zoneA, ready: corev1.ConditionFalse, capacity: map[string]int64{"small": 10}},
		{name: "tainted", labels: zoneA, ready: corev1.ConditionTrue, taints: gpuTaint, capacity: map[string]int64{"small": 1}},
		{name: "zone-b", labels: map[string]string{"zone": "b"}, ready: corev1.ConditionTrue, capacity: map[string]int64{"small": 10}},
		{name: "large-only", labels: zoneA, ready: corev1.ConditionTrue, capacity: map[string]int64{"large": 10}},
		{name: "full", labels: zoneA, ready: corev1.ConditionTrue, capacity: map[string]int64{"small": 0}},
		{name: "good", labels: zoneA, ready: corev1.ConditionTrue, capacity: map[string]int64{"small": 3}},
	} {
		e.createMachinePool(t, p)
	}

	t.Run("health endpoints answer", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
				resp, err := http.Get("http://" + healthAddr + path)
				if err != nil {
					return false, nil
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK, nil
			}); err != nil {
				t.Fatalf("%s never answered 200", path)
			}
		}
	})

	t.Run("only the pool passing every filter is chosen", func(t *testing.T) {
		for i := range 3 {
			name := fmt.Sprintf("fits-%d", i)
			if err := e.client.Create(ctx, newMachine(name, "small", zoneA)); err != nil {
				t.Fatal(err)
			}
			e.waitMachine(t, name, "bound to good", boundTo("good"))
		}
	})

	t.Run("when nothing fits the machine says why", func(t *testing.T) {
		if err := e.client.Create(ctx, newMachine("waits", "small", zoneA)); err != nil {
			t.Fatal(err)
		}
		m := e.waitMachine(t, "waits", "unschedulable", unschedulable)
		want := "0/6 pools fit: 2 insufficient capacity, 1 class not offered, 1 not ready, 1 pool selector mismatch, 1 untolerated taint"
		if got := scheduledMessage(m); !strings.Contains(got, want) {
			t.Fatalf("condition %q, want message %q", got, want)
		}
		if m.Spec.MachinePoolRef != nil {
			t.Fatalf("unschedulable machine bound to %s", m.Spec.MachinePoolRef.Name)
		}
		waitEvent(t, e, "waits", "FailedScheduling", want)
	})

	t.Run("a toleration opens the tainted pool", func(t *testing.T) {
		m := newMachine("tolerates", "small", zoneA, commonv1alpha1.Toleration{
			Key: "dedicated", Operator: commonv1alpha1.TolerationOpEqual, Value: "gpu", Effect: commonv1alpha1.TaintEffectNoSchedule})
		if err := e.client.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		e.waitMachine(t, "tolerates", "bound to tainted", boundTo("tainted"))
	})

	t.Run("status writes that add no room do not retry unschedulable machines", func(t *testing.T) {
		before := counter(t, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "unschedulable"})
		// What a poollet heartbeat-style status refresh looks like: same readiness and capacity,
		// a different allocatable and message.
		for i := range 10 {
			e.setMachinePoolStatus(t, "good", corev1.ConditionTrue, map[string]int64{"small": 3}, map[string]int64{"small": int64(i)})
		}
		time.Sleep(2 * time.Second) // nothing should happen; give it the chance to
		if after := counter(t, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "unschedulable"}); after != before {
			t.Fatalf("unschedulable attempts went from %v to %v on status-only pool updates", before, after)
		}
	})

	t.Run("more capacity retries the waiting machine", func(t *testing.T) {
		e.setMachinePoolStatus(t, "full", corev1.ConditionTrue, map[string]int64{"small": 1}, nil)
		e.waitMachine(t, "waits", "bound to full", boundTo("full"))
		e.waitMachine(t, "waits", "Scheduled=True", func(m *computev1alpha1.Machine) bool {
			return strings.HasPrefix(scheduledMessage(m), "True/Scheduled")
		})
	})

	t.Run("allocatable written by a poollet is not subtracted twice", func(t *testing.T) {
		// good holds 3 machines of capacity 3; a poollet reports allocatable 0. Raising capacity
		// to 4 must leave room for exactly one more, whatever allocatable says.
		e.setMachinePoolStatus(t, "good", corev1.ConditionTrue, map[string]int64{"small": 4}, map[string]int64{"small": 0})
		if err := e.client.Create(ctx, newMachine("fourth", "small", zoneA)); err != nil {
			t.Fatal(err)
		}
		e.waitMachine(t, "fourth", "bound to good", boundTo("good"))
		if err := e.client.Create(ctx, newMachine("fifth", "small", zoneA)); err != nil {
			t.Fatal(err)
		}
		e.waitMachine(t, "fifth", "unschedulable", unschedulable)
	})
}

// TestNoOvercommitUnderConcurrency creates 500 machines at once against 10 pools holding 20 each.
func TestNoOvercommitUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := t.Context()
	const pools, perPool, machines = 10, 20, 500
	for i := range pools {
		e.createMachinePool(t, poolSpec{name: fmt.Sprintf("pool-%d", i), ready: corev1.ConditionTrue, capacity: map[string]int64{"small": perPool}})
	}
	var wg sync.WaitGroup
	errs := make(chan error, machines)
	for w := range 25 {
		wg.Go(func() {
			for i := w; i < machines; i += 25 {
				if err := e.client.Create(ctx, newMachine(fmt.Sprintf("m-%03d", i), "small", nil)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var list computev1alpha1.MachineList
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := e.client.List(ctx, &list, client.InNamespace("default")); err != nil {
			return false, nil
		}
		decided := 0
		for i := range list.Items {
			if list.Items[i].Spec.MachinePoolRef != nil || unschedulable(&list.Items[i]) {
				decided++
			}
		}
		return decided == machines, nil
	}); err != nil {
		t.Fatalf("not every machine was bound or marked unschedulable: %v", err)
	}
	bound := 0
	for i := range list.Items {
		if list.Items[i].Spec.MachinePoolRef != nil {
			bound++
		}
	}
	if bound != pools*perPool {
		t.Errorf("bound %d machines, want exactly %d (total capacity)", bound, pools*perPool)
	}
	// Count per pool with the server-side field selector on the selectable pool-ref field.
	for i := range pools {
		var onPool computev1alpha1.MachineList
		if err := e.client.List(ctx, &onPool, client.MatchingFields{computev1alpha1.MachinePoolRefNameField: fmt.Sprintf("pool-%d", i)}); err != nil {
			t.Fatal(err)
		}
		if n := len(onPool.Items); n > perPool {
			t.Errorf("pool-%d holds %d machines, capacity %d: overcommitted", i, n, perPool)
		}
	}
	t.Logf("%d of %d machines bound, %d unschedulable", bound, machines, machines-bound)
}

func waitEvent(t *testing.T, e *env, object, reason, note string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		var events eventsv1.EventList
		if err := e.client.List(ctx, &events, client.InNamespace("default")); err != nil {
			return false, nil
		}
		for _, ev := range events.Items {
			if ev.Regarding.Name == object && ev.Reason == reason && strings.Contains(ev.Note, note) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for %s containing %q", reason, object, note)
	}
}

func counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	return findMetric(t, name, labels).GetCounter().GetValue()
}

// findMetric returns the first series of the controller-runtime registry's metric name whose labels
// include labels; nil (whose getters give zeros) when there is none.
func findMetric(t testing.TB, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
