package scheduler

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// chooseByScan is the reference choice: score every pool offering the class (the scheduler's
// choice before the ranks). Lock held.
func chooseByScan(s *state, obj *ObjectInfo) (*PoolInfo, map[Reason]int) {
	var best *PoolInfo
	var bestScore float64
	var bestFree int64
	for _, pool := range s.byClass[obj.Class] {
		free := s.free(pool, obj.Class)
		if filter(pool, obj, free) != "" {
			continue
		}
		sc := score(pool.Capacity[obj.Class], free, obj.Amount)
		if best == nil || sc > bestScore || (sc == bestScore && (free > bestFree || (free == bestFree && pool.Name < best.Name))) {
			best, bestScore, bestFree = pool, sc, free
		}
	}
	if best != nil {
		return best, nil
	}
	return nil, s.reasons(obj)
}

// checkRanks verifies the ranks against the pools: exactly the ready pools offering a class,
// in their group, with their current free capacity, in order. Lock held.
func checkRanks(t *testing.T, s *state) {
	t.Helper()
	want := map[string]map[string]rankPos{}
	for _, p := range s.pools {
		if !p.Ready {
			continue
		}
		for class, c := range p.Capacity {
			if want[class] == nil {
				want[class] = map[string]rankPos{}
			}
			want[class][p.Name] = rankPos{capacity: c, free: s.free(p, class)}
		}
	}
	for class, r := range s.rank {
		if !maps.Equal(r.ranked, want[class]) {
			t.Fatalf("class %s ranked %v, want %v", class, r.ranked, want[class])
		}
		n := 0
		for i, g := range r.order {
			if g.at != i || r.groups[g.capacity] != g || len(g.pools) == 0 {
				t.Fatalf("class %s: group %d (capacity %d) misplaced or empty", class, i, g.capacity)
			}
			for j, p := range g.pools {
				if pos := want[class][p.pool.Name]; pos.capacity != g.capacity || pos.free != p.free || s.pools[p.pool.Name] != p.pool {
					t.Fatalf("class %s: pool %s ranked at capacity %d free %d, is %+v", class, p.pool.Name, g.capacity, p.free, pos)
				}
				if j > 0 && compareRanked(g.pools[j-1], p.free, p.pool.Name) >= 0 {
					t.Fatalf("class %s capacity %d: %s before %s out of order", class, g.capacity, g.pools[j-1].pool.Name, p.pool.Name)
				}
			}
			n += len(g.pools)
		}
		if n != len(r.ranked) || len(r.groups) != len(r.order) {
			t.Fatalf("class %s: %d pools in groups, %d ranked", class, n, len(r.ranked))
		}
	}
	for class := range want {
		if s.rank[class] == nil {
			t.Fatalf("class %s offered by ready pools has no rank", class)
		}
	}
}

// TestRankedChoiceMatchesScan drives a state through random pool changes, assumptions, binds,
// failed binds and deletions, and after each step compares the ranked choice with the scan of
// every pool for random objects: same pool, same reasons when none fits.
func TestRankedChoiceMatchesScan(t *testing.T) {
	const gib = int64(1) << 30
	classes := []string{"a", "b"}
	// Capacities mix instance counts, byte sizes (volumes), equal-share pairs (2 and 4, 10 and
	// 20: equal scores broken by free), zero and unbounded (buckets).
	capacities := []int64{0, 1, 2, 3, 4, 10, 20, 100 * gib, 300 * gib, math.MaxInt64}
	amounts := []int64{0, 1, 1, 1, 2, 3, 7 * gib, 50 * gib}
	taint := commonv1alpha1.Taint{Key: "dedicated", Value: "gpu", Effect: commonv1alpha1.TaintEffectNoSchedule}
	var fits, none int
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 17))
		s := newState()
		poolNames := make([]string, 2+rng.IntN(30))
		for i := range poolNames {
			poolNames[i] = fmt.Sprintf("p%02d", i)
		}
		randomPool := func() *PoolInfo {
			p := &PoolInfo{Name: poolNames[rng.IntN(len(poolNames))], Ready: rng.IntN(5) > 0, Capacity: map[string]int64{}, Labels: map[string]string{"zone": []string{"x", "y"}[rng.IntN(2)]}}
			for _, class := range classes {
				if rng.IntN(4) > 0 {
					// Few capacities per run in most runs (groups of many pools), many in some.
					p.Capacity[class] = capacities[rng.IntN(1+int(seed)%len(capacities))]
				}
			}
			if rng.IntN(6) == 0 {
				p.Taints = []commonv1alpha1.Taint{taint}
			}
			return p
		}
		attempts := map[types.UID]uint64{}
		for step := range 400 {
			uid := types.UID(fmt.Sprintf("u%d", rng.IntN(60)))
			key := types.NamespacedName{Namespace: "ns", Name: string(uid)}
			b := binding{pool: poolNames[rng.IntN(len(poolNames))], class: classes[rng.IntN(2)], amount: amounts[1+rng.IntN(len(amounts)-1)]}
			switch op := rng.IntN(10); {
			case op < 2:
				s.setPool(randomPool())
			case op == 2:
				s.deletePool(poolNames[rng.IntN(len(poolNames))])
			case op < 6:
				s.mu.Lock()
				attempts[uid] = s.assume(uid, b)
				s.mu.Unlock()
			case op < 8:
				s.observeBound(uid, key, b)
			case op == 8:
				s.forget(uid, attempts[uid], key, nil)
			default:
				s.observeGone(uid, key)
			}
			s.mu.Lock()
			checkRanks(t, s)
			for range 5 {
				obj := &ObjectInfo{Class: []string{"a", "b", "c"}[rng.IntN(3)], Amount: amounts[rng.IntN(len(amounts))]}
				if rng.IntN(4) == 0 {
					obj.PoolSelector = map[string]string{"zone": "x"}
				}
				if rng.IntN(3) == 0 {
					obj.Tolerations = []commonv1alpha1.Toleration{{Key: "dedicated", Operator: commonv1alpha1.TolerationOpExists}}
				}
				got, gotReasons := s.choose(obj)
				want, wantReasons := chooseByScan(s, obj)
				if got != want || !maps.Equal(gotReasons, wantReasons) {
					t.Fatalf("seed %d step %d, %+v: ranked choice %v %v, scan %v %v", seed, step, obj, got, gotReasons, want, wantReasons)
				}
				if got != nil {
					fits++
				} else {
					none++
				}
			}
			s.mu.Unlock()
		}
	}
	// Both outcomes must be common, or the comparison proves little.
	if fits < 10000 || none < 10000 {
		t.Fatalf("%d choices found a pool, %d none", fits, none)
	}
}

// TestRankedChoiceOrder pins the tie-breaks on a small case: score, then most free, then name.
func TestRankedChoiceOrder(t *testing.T) {
	s := newState()
	s.setPool(&PoolInfo{Name: "half-of-4", Ready: true, Capacity: map[string]int64{"c": 4}})
	s.setPool(&PoolInfo{Name: "half-of-2", Ready: true, Capacity: map[string]int64{"c": 2}})
	s.setPool(&PoolInfo{Name: "b-full", Ready: true, Capacity: map[string]int64{"c": 8}})
	s.setPool(&PoolInfo{Name: "a-full", Ready: true, Capacity: map[string]int64{"c": 8}})
	s.mu.Lock()
	defer s.mu.Unlock()
	choose := func(amount int64) string {
		p, _ := s.choose(&ObjectInfo{Class: "c", Amount: amount})
		if p == nil {
			return ""
		}
		return p.Name
	}
	if got := choose(1); got != "a-full" {
		t.Fatalf("empty pools of equal score: got %s, want the first by name", got)
	}
	for range 4 {
		s.assume(types.UID(fmt.Sprintf("a%d", len(s.assumed))), binding{pool: "a-full", class: "c", amount: 1})
		s.assume(types.UID(fmt.Sprintf("b%d", len(s.assumed))), binding{pool: "b-full", class: "c", amount: 1})
	}
	s.assume("x", binding{pool: "half-of-4", class: "c", amount: 2})
	s.assume("y", binding{pool: "half-of-2", class: "c", amount: 1})
	// Amount 0: every pool scores 1/2; the most free wins (a-full and b-full: 4), then the name.
	if got := choose(0); got != "a-full" {
		t.Fatalf("equal scores: got %s, want a-full (most free, then name)", got)
	}
	// Amount 1: 3/8 for the 8s, 1/4 for half-of-4, 0 for half-of-2.
	if got := choose(1); got != "a-full" {
		t.Fatalf("amount 1: got %s", got)
	}
	if got := choose(5); got != "" {
		t.Fatalf("amount 5 fits nowhere, got %s", got)
	}
}

// BenchmarkChoose1kPools: one decision and its assumption among 1,000 pools of one class, as in
// make bench-scheduler, ranked beside the scan of every pool (the reference, same run). Each
// iteration also releases an earlier assumption, so usage stays around half the capacity.
func BenchmarkChoose1kPools(b *testing.B) {
	for _, bc := range []struct {
		name   string
		choose func(*state, *ObjectInfo) (*PoolInfo, map[Reason]int)
	}{
		{"ranked", (*state).choose},
		{"scan", chooseByScan},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const pools, perPool, inUse = 1000, 30, 15000
			s := newState()
			for i := range pools {
				s.setPool(&PoolInfo{Name: fmt.Sprintf("pool-%04d", i), Ready: true, Capacity: map[string]int64{"small": perPool}})
			}
			obj := &ObjectInfo{Class: "small", Amount: 1}
			uids := make([]types.UID, inUse)
			for i := range uids {
				uids[i] = types.UID(fmt.Sprintf("u%d", i))
			}
			decide := func(uid types.UID) {
				p, _ := bc.choose(s, obj)
				if p == nil {
					b.Fatal("no pool fits")
				}
				s.assume(uid, binding{pool: p.Name, class: "small", amount: 1})
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, uid := range uids {
				decide(uid)
			}
			b.ResetTimer()
			for i := range b.N {
				uid := uids[i%inUse]
				s.release(s.assumed, uid)
				decide(uid)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/decision")
		})
	}
}
