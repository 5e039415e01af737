package scheduler

import (
	"maps"
	"math"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// binding is a placement that takes capacity: observed (the object's pool ref is set) or
// assumed (the scheduler sent the bind and has not seen it come back yet).
type binding struct {
	pool   string
	class  string
	amount int64
	// attempt numbers an assumption (0 for bound objects): a failed bind forgets only its own.
	attempt uint64
}

// pendingObject is an unbound object waiting for a pool.
type pendingObject struct {
	info            ObjectInfo
	uid             types.UID
	resourceVersion string
	// invalid is set when the object cannot be scheduled as written.
	invalid error
}

// state is the scheduler's view of pools and usage. Usage counts observed bindings and assumed
// ones by object UID, so an object moving from assumed to observed is never counted twice and a
// binding in flight is never counted zero times: that is what keeps concurrent placements from
// overcommitting a pool. Every method takes the lock; the scheduling cycle holds it across
// decide-and-assume.
type state struct {
	mu    sync.Mutex
	pools map[string]*PoolInfo
	// byClass indexes pools, ready or not, by the classes they offer.
	byClass map[string]map[string]*PoolInfo
	// rank keeps the ready pools offering each class in choice order (classRank).
	rank    map[string]*classRank
	bound   map[types.UID]binding
	assumed map[types.UID]binding
	// used[pool][class] = sum of amounts over bound ∪ assumed.
	used    map[string]map[string]int64
	pending map[types.NamespacedName]*pendingObject
	// unschedulable objects wait here, by class, until a change could make room for them.
	unschedulable map[types.NamespacedName]string
	// orphans are bound objects whose pool does not exist, by pool name: told so, and
	// re-examined when the pool appears.
	orphans map[string]map[types.NamespacedName]struct{}
	// attempts counts assumptions (binding.attempt).
	attempts uint64
}

func newState() *state {
	return &state{
		pools:         map[string]*PoolInfo{},
		byClass:       map[string]map[string]*PoolInfo{},
		rank:          map[string]*classRank{},
		bound:         map[types.UID]binding{},
		assumed:       map[types.UID]binding{},
		used:          map[string]map[string]int64{},
		pending:       map[types.NamespacedName]*pendingObject{},
		unschedulable: map[types.NamespacedName]string{},
		orphans:       map[string]map[types.NamespacedName]struct{}{},
	}
}

func (s *state) hasPool(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pools[name] != nil
}

// poolExists reports whether the pool named name is known; else it records key as an orphan
// of it.
func (s *state) poolExists(name string, key types.NamespacedName) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pools[name] != nil {
		return true
	}
	if s.orphans[name] == nil {
		s.orphans[name] = map[types.NamespacedName]struct{}{}
	}
	s.orphans[name][key] = struct{}{}
	return false
}

// takeOrphans returns the objects bound to pool while it did not exist.
func (s *state) takeOrphans(pool string) []types.NamespacedName {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Collect(maps.Keys(s.orphans[pool]))
	delete(s.orphans, pool)
	return keys
}

func (s *state) addUsage(b binding, sign int64) {
	m := s.used[b.pool]
	if m == nil {
		m = map[string]int64{}
		s.used[b.pool] = m
	}
	m[b.class] += sign * b.amount
	if m[b.class] == 0 {
		delete(m, b.class)
	}
	if r, pool := s.rank[b.class], s.pools[b.pool]; r != nil && pool != nil {
		r.move(b.pool, s.free(pool, b.class))
	}
}

// free is the class capacity of pool minus its usage. Lock held.
func (s *state) free(pool *PoolInfo, class string) int64 {
	if c := pool.Capacity[class]; c == math.MaxInt64 {
		return c // unbounded (bucketPoolInfo)
	}
	return pool.Capacity[class] - s.used[pool.Name][class]
}

// release removes the object's entry from m (assumed or bound) and its usage. Lock held.
func (s *state) release(m map[types.UID]binding, uid types.UID) (binding, bool) {
	b, ok := m[uid]
	if ok {
		delete(m, uid)
		s.addUsage(b, -1)
	}
	return b, ok
}

// observeBound records an object seen bound to a pool, replacing its assumption if any.
func (s *state) observeBound(uid types.UID, key types.NamespacedName, b binding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, key)
	delete(s.unschedulable, key)
	s.release(s.assumed, uid)
	s.release(s.bound, uid)
	s.bound[uid] = b
	s.addUsage(b, +1)
}

// observePending records an unbound object.
func (s *state) observePending(key types.NamespacedName, p *pendingObject) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[key] = p
	// An assumption for an object that shows up unbound again (its bind failed or was undone)
	// is dropped by forget(); until then it keeps holding capacity, which is the safe side.
}

// observeGone forgets an object and reports the class whose capacity it released ("" if none).
func (s *state) observeGone(uid types.UID, key types.NamespacedName) (releasedClass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, key)
	delete(s.unschedulable, key)
	if a, ok := s.release(s.assumed, uid); ok {
		releasedClass = a.class
	}
	if b, ok := s.release(s.bound, uid); ok {
		releasedClass = b.class
	}
	return releasedClass
}

// assume reserves capacity for a bind about to be sent and returns the attempt to forget it by.
// A second decision for an object whose first bind is still in flight (the object changed
// meanwhile and came back pending) replaces the first assumption: counting both leaked one unit
// of the pool for good once the first bind failed (a pool seen full with room left). Lock held.
func (s *state) assume(uid types.UID, b binding) uint64 {
	s.release(s.assumed, uid)
	s.attempts++
	b.attempt = s.attempts
	s.assumed[uid] = b
	s.addUsage(b, +1)
	return b.attempt
}

// forget drops the assumption of a failed bind, unless a later decision replaced it or the
// watch saw the object bound or gone since (both drop the assumption). When the assumption was
// still its own, key is pending again as retry (if not nil), unless the watch delivered a newer version.
func (s *state) forget(uid types.UID, attempt uint64, key types.NamespacedName, retry *pendingObject) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assumed[uid]
	if !ok || a.attempt != attempt {
		return
	}
	s.release(s.assumed, uid)
	if retry == nil {
		return
	}
	if _, newer := s.pending[key]; !newer {
		s.pending[key] = retry
	}
}

// setPool stores a pool and reports whether the change could make an unschedulable object
// schedulable (more room, readiness, different taints/labels/classes). Heartbeat-only status
// writes change none of these and so wake nobody.
func (s *state) setPool(p *PoolInfo) (mayFitMore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.pools[p.Name]
	s.pools[p.Name] = p
	s.index(old, p)
	if old == nil {
		return p.Ready
	}
	if !p.Ready {
		return false
	}
	if !old.Ready || !maps.Equal(old.Labels, p.Labels) || !slices.Equal(old.Taints, p.Taints) {
		return true
	}
	for class, c := range p.Capacity {
		if oc, ok := old.Capacity[class]; !ok || c > oc {
			return true
		}
	}
	return false
}

func (s *state) deletePool(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index(s.pools[name], nil)
	delete(s.pools, name)
}

// index moves a pool between class buckets and ranks. Lock held.
func (s *state) index(old, cur *PoolInfo) {
	if old != nil {
		for class := range old.Capacity {
			delete(s.byClass[class], old.Name)
			if r := s.rank[class]; r != nil {
				r.remove(old.Name)
				if len(r.ranked) == 0 {
					delete(s.rank, class)
				}
			}
		}
	}
	if cur != nil {
		for class, capacity := range cur.Capacity {
			m := s.byClass[class]
			if m == nil {
				m = map[string]*PoolInfo{}
				s.byClass[class] = m
			}
			m[cur.Name] = cur
			if !cur.Ready {
				continue
			}
			r := s.rank[class]
			if r == nil {
				r = newClassRank()
				s.rank[class] = r
			}
			r.insert(cur, capacity, s.free(cur, class))
		}
	}
}

// choose picks the best feasible pool for obj from the ranks; only when none fits does it go
// through every pool to tally why (the Unschedulable message). Lock held.
func (s *state) choose(obj *ObjectInfo) (*PoolInfo, map[Reason]int) {
	if best := s.rank[obj.Class].best(obj); best != nil {
		return best, nil
	}
	return nil, s.reasons(obj)
}

// reasons counts, over every pool, why it cannot take obj. Lock held.
func (s *state) reasons(obj *ObjectInfo) map[Reason]int {
	reasons := map[Reason]int{}
	for _, pool := range s.pools {
		if r := filter(pool, obj, s.free(pool, obj.Class)); r != "" {
			reasons[r]++
		}
	}
	return reasons
}

// takeUnschedulable removes and returns the unschedulable objects whose class is a key of
// classes, or all of them.
func (s *state) takeUnschedulable(classes map[string]int64, all bool) []types.NamespacedName {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []types.NamespacedName
	for key, class := range s.unschedulable {
		if _, ok := classes[class]; all || ok {
			keys = append(keys, key)
			delete(s.unschedulable, key)
		}
	}
	return keys
}

// usedOf returns a copy of pool usage, for tests and metrics.
func (s *state) usedOf(pool string) map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.used[pool])
}
