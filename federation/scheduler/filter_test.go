package scheduler

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

func TestTolerations(t *testing.T) {
	gpu := commonv1alpha1.Taint{Key: "dedicated", Value: "gpu", Effect: commonv1alpha1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		name string
		tol  commonv1alpha1.Toleration
		want bool
	}{
		{"equal key and value", commonv1alpha1.Toleration{Key: "dedicated", Value: "gpu"}, true},
		{"equal with matching effect", commonv1alpha1.Toleration{Key: "dedicated", Value: "gpu", Effect: commonv1alpha1.TaintEffectNoSchedule}, true},
		{"other effect", commonv1alpha1.Toleration{Key: "dedicated", Value: "gpu", Effect: commonv1alpha1.TaintEffectNoExecute}, false},
		{"other value", commonv1alpha1.Toleration{Key: "dedicated", Value: "cpu"}, false},
		{"exists on key", commonv1alpha1.Toleration{Key: "dedicated", Operator: commonv1alpha1.TolerationOpExists}, true},
		{"exists without key tolerates everything", commonv1alpha1.Toleration{Operator: commonv1alpha1.TolerationOpExists}, true},
		{"equal without key tolerates nothing", commonv1alpha1.Toleration{Value: "gpu"}, false},
		{"unknown operator", commonv1alpha1.Toleration{Key: "dedicated", Operator: "Like"}, false},
	} {
		if got := tolerates([]commonv1alpha1.Toleration{tc.tol}, []commonv1alpha1.Taint{gpu}); got != tc.want {
			t.Errorf("%s: tolerates=%v, want %v", tc.name, got, tc.want)
		}
	}
	if !tolerates(nil, nil) {
		t.Error("no taints must be tolerated by no tolerations")
	}
}

func TestFilterOrderAndScore(t *testing.T) {
	pool := &PoolInfo{Name: "p", Ready: true, Labels: map[string]string{"zone": "a"}, Capacity: map[string]int64{"small": 4}}
	obj := &ObjectInfo{Class: "small", Amount: 1, PoolSelector: map[string]string{"zone": "a"}}
	if r := filter(pool, obj, 4); r != "" {
		t.Fatalf("fitting pool filtered: %s", r)
	}
	if r := filter(pool, obj, 0); r != ReasonInsufficient {
		t.Fatalf("full pool: %q", r)
	}
	if r := filter(pool, &ObjectInfo{Class: "large", Amount: 1}, 4); r != ReasonClassUnsupported {
		t.Fatalf("other class: %q", r)
	}
	if r := filter(pool, &ObjectInfo{Class: "small", Amount: 1, PoolSelector: map[string]string{"zone": "b"}}, 4); r != ReasonSelectorMismatch {
		t.Fatalf("selector: %q", r)
	}
	notReady := *pool
	notReady.Ready = false
	if r := filter(&notReady, obj, 4); r != ReasonNotReady {
		t.Fatalf("not ready: %q", r)
	}
	// A pool with 50% free outranks a bigger one with 25% free.
	if score(10, 5, 1) <= score(100, 25, 1) {
		t.Fatal("score must prefer the larger free share")
	}
	if got := unschedulableMessage(5, map[Reason]int{ReasonInsufficient: 3, ReasonNotReady: 1, ReasonClassUnsupported: 1}); got != "0/5 pools fit: 3 insufficient capacity, 1 class not offered, 1 not ready" {
		t.Fatalf("message %q", got)
	}
}

// TestAssumedCapacityIsCountedOnce follows one object from decision to observed binding: usage
// must be 1 throughout, never 0 (overcommit) or 2 (double count).
func TestAssumedCapacityIsCountedOnce(t *testing.T) {
	s := newState()
	s.setPool(&PoolInfo{Name: "p", Ready: true, Capacity: map[string]int64{"small": 1}})
	key, uid := types.NamespacedName{Namespace: "ns", Name: "m"}, types.UID("u1")
	b := binding{pool: "p", class: "small", amount: 1}

	s.mu.Lock()
	s.assume(uid, b)
	s.mu.Unlock()
	if got := s.usedOf("p")["small"]; got != 1 {
		t.Fatalf("after assume: used %d", got)
	}
	s.observeBound(uid, key, b)
	if got := s.usedOf("p")["small"]; got != 1 {
		t.Fatalf("after observed bind: used %d", got)
	}
	s.observeBound(uid, key, b) // a later update of the bound object
	if got := s.usedOf("p")["small"]; got != 1 {
		t.Fatalf("after update: used %d", got)
	}
	if class := s.observeGone(uid, key); class != "small" {
		t.Fatalf("deletion released class %q", class)
	}
	if got := s.usedOf("p")["small"]; got != 0 {
		t.Fatalf("after delete: used %d", got)
	}

	// A failed bind releases its assumption, and the object is pending again as decided on (an
	// unavailable apiserver changed nothing, so no watch event would bring it back).
	key2 := types.NamespacedName{Namespace: "ns", Name: "m2"}
	decided := &pendingObject{uid: "u2", resourceVersion: "7"}
	s.mu.Lock()
	a := s.assume("u2", b)
	s.mu.Unlock()
	s.forget("u2", a, key2, decided)
	if got := s.usedOf("p")["small"]; got != 0 {
		t.Fatalf("after forget: used %d", got)
	}
	if s.pending[key2] != decided {
		t.Fatalf("a failed bind left the object not pending: %v", s.pending[key2])
	}
	// ...unless the watch delivered a newer version meanwhile, or saw it bound.
	newer := &pendingObject{uid: "u2", resourceVersion: "8"}
	s.mu.Lock()
	a = s.assume("u2", b)
	s.mu.Unlock()
	s.observePending(key2, newer)
	s.forget("u2", a, key2, decided)
	if s.pending[key2] != newer {
		t.Fatalf("a failed bind replaced the newer pending version: %v", s.pending[key2])
	}
	s.mu.Lock()
	a = s.assume("u2", b)
	s.mu.Unlock()
	s.observeBound("u2", key2, b)
	s.forget("u2", a, key2, decided)
	if p := s.pending[key2]; p != nil {
		t.Fatalf("an object seen bound is pending again after a failed bind: %v", p)
	}
	s.observeGone("u2", key2)

	// The object changes while its bind is in flight and is decided again: the first bind then
	// fails (stale resourceVersion), the second succeeds. Usage stays 1 throughout (it was 2 for
	// good: a pool of capacity 3 refused its third machine in a loaded full run).
	key3, uid3 := types.NamespacedName{Namespace: "ns", Name: "m3"}, types.UID("u3")
	s.mu.Lock()
	first := s.assume(uid3, b)
	s.assume(uid3, b)
	s.mu.Unlock()
	if got := s.usedOf("p")["small"]; got != 1 {
		t.Fatalf("after a second decision: used %d", got)
	}
	s.forget(uid3, first, key3, nil)
	if got := s.usedOf("p")["small"]; got != 1 {
		t.Fatalf("after the first bind failed: used %d (the second is still in flight)", got)
	}
	s.observeBound(uid3, key3, b)
	if got := s.usedOf("p")["small"]; got != 1 {
		t.Fatalf("after the second bind was observed: used %d", got)
	}
}

func TestPoolChangesThatMayMakeRoom(t *testing.T) {
	s := newState()
	base := PoolInfo{Name: "p", Ready: true, Capacity: map[string]int64{"small": 1}}
	if !s.setPool(&base) {
		t.Fatal("a new ready pool may fit objects")
	}
	same := base
	if s.setPool(&same) {
		t.Fatal("an identical pool (a heartbeat-style status write) must wake nobody")
	}
	bigger := base
	bigger.Capacity = map[string]int64{"small": 2}
	if !s.setPool(&bigger) {
		t.Fatal("more capacity may fit objects")
	}
	smaller := base
	if s.setPool(&smaller) {
		t.Fatal("less capacity fits nothing new")
	}
	if len(s.byClass["small"]) != 1 {
		t.Fatalf("class index holds %d pools", len(s.byClass["small"]))
	}
	s.deletePool("p")
	if len(s.byClass["small"]) != 0 {
		t.Fatal("class index keeps a deleted pool")
	}
}
