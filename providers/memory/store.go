package memory

import (
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/iri/watchhub"
)

// Object is what a Store keeps: a generated IRI object (machine, volume,
// snapshot, bucket) with metadata.
type Object interface {
	proto.Message
	GetMetadata() *metav1alpha1.ObjectMetadata
}

// kindOps is what differs between the kinds a Store keeps.
type kindOps[T Object] struct {
	// kind names the kind in messages ("machine").
	kind string
	// idField names the request field that carries an id ("machine_id").
	idField string
	// uidLabel is the poollet UID label; creates carrying it are idempotent.
	uidLabel string
	// class returns the object's class and how much of the class's capacity
	// it takes; "" means the kind has no capacity accounting.
	class func(T) (string, int64)
	// settle brings the status in line with the spec on a private copy and
	// reports whether it changed anything, with one event per transition.
	settle func(T) (bool, []eventRecord)
	// terminate marks the status of an object whose delayed deletion began.
	terminate func(T)
}

type entry[T Object] struct {
	// obj is an immutable snapshot: every change replaces it with a changed
	// copy, so snapshots can be shared with readers, events and watchers.
	obj   T
	pos   int // index in Store.order
	timer *time.Timer
}

// Store keeps the objects of one kind. It indexes them by id and by poollet
// UID label, accounts class capacity, records events, runs state transitions
// (instantly or after a delay) and feeds watchers.
//
// Methods with an exported name hand out copies; the unexported ones hand out
// the shared snapshots to callers (the gRPC layer) that only marshal them.
type Store[T Object] struct {
	ops      kindOps[T]
	delay    time.Duration
	events   *EventLog
	capacity map[string]int64

	mu       sync.RWMutex
	byID     map[string]*entry[T]
	order    []*entry[T]
	byUID    map[string]*entry[T]
	used     map[string]int64
	watchers *watchhub.Hub[T]
	closed   bool
}

func newStore[T Object](ops kindOps[T], cfg Config, events *EventLog, capacity map[string]int64) *Store[T] {
	return &Store[T]{
		ops:      ops,
		delay:    cfg.delay(),
		events:   events,
		capacity: capacity,
		byID:     map[string]*entry[T]{},
		byUID:    map[string]*entry[T]{},
		used:     map[string]int64{},
		watchers: watchhub.New[T](cfg.WatchBufferSize),
	}
}

func now() int64 { return time.Now().UnixNano() }

// eventNow is the time of an event: Unix seconds, as IronCore's runtimes, brokers and irictl use
// for event times and ListEvents windows (object timestamps stay nanoseconds).
func eventNow() int64 { return time.Now().Unix() }

func clone[T Object](obj T) T { return proto.Clone(obj).(T) }

// create stores obj, which the caller hands over (it must be a private copy
// with metadata set). A create whose UID label names an existing object
// returns that object instead: retries never duplicate.
func (s *Store[T]) create(obj T) (T, error) {
	md := obj.GetMetadata()
	uid := md.GetLabels()[s.ops.uidLabel]
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byUID[uid]; ok && uid != "" {
		return e.obj, nil
	}
	class, cost := s.ops.class(obj)
	if err := s.reserveLocked(class, cost); err != nil {
		s.events.record(md, eventRecord{Type: EventWarning, Reason: "CapacityExhausted", Action: "Create", Message: err.Error()}, eventNow())
		var zero T
		return zero, err
	}
	md.Id = newID()
	for s.byID[md.Id] != nil {
		md.Id = newID()
	}
	md.Generation, md.CreatedAt, md.DeletedAt = 1, now(), 0
	records := []eventRecord{normal("Created", "Create", "Created "+s.ops.kind+" "+md.Id)}
	if s.delay == 0 {
		_, evs := s.ops.settle(obj)
		records = append(records, evs...)
	}
	e := &entry[T]{obj: obj, pos: len(s.order)}
	s.byID[md.Id] = e
	s.order = append(s.order, e)
	if uid != "" {
		s.byUID[uid] = e
	}
	s.recordLocked(obj, records)
	s.watchers.Publish(WatchAdded, obj)
	s.scheduleSettleLocked(e)
	return obj, nil
}

func (s *Store[T]) reserveLocked(class string, cost int64) error {
	if class == "" {
		return nil
	}
	total := s.capacity[class]
	// cost > total-used, not used+cost > total: a huge cost (an expand to 2^63-1 bytes) must not
	// overflow into "fits".
	if cost < 0 || cost > total-s.used[class] {
		return runtimeerr.Errorf(runtimeerr.KindExhausted, "%s class %q is exhausted: %d of %d in use, this %s needs %d more; delete %ss of the class or use another class",
			s.ops.kind, class, s.used[class], total, s.ops.kind, cost, s.ops.kind)
	}
	s.used[class] += cost
	return nil
}

// get returns the shared snapshot of the object with id.
func (s *Store[T]) get(id string) (T, error) {
	if err := checkID(s.ops.idField, id); err != nil {
		var zero T
		return zero, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byID[id]
	if !ok {
		var zero T
		return zero, runtimeerr.NotFoundf("%s %s not found", s.ops.kind, id)
	}
	return e.obj, nil
}

// Get returns a copy of the object with id.
func (s *Store[T]) Get(id string) (T, error) {
	obj, err := s.get(id)
	if err != nil {
		return obj, err
	}
	return clone(obj), nil
}

// list returns the shared snapshots matching f, in creation order as far as
// deletions allow. A malformed id in f is InvalidArgument; an unknown one
// matches nothing.
func (s *Store[T]) list(f Filter) ([]T, error) {
	if f.ID != "" {
		if err := checkID("filter.id", f.ID); err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var candidates []*entry[T]
	switch uid, byUID := f.Labels[s.ops.uidLabel]; {
	case f.ID != "":
		if e, ok := s.byID[f.ID]; ok {
			candidates = []*entry[T]{e}
		}
	case byUID && s.ops.uidLabel != "":
		if e, ok := s.byUID[uid]; ok {
			candidates = []*entry[T]{e}
		}
	default:
		candidates = s.order
	}
	out := make([]T, 0, len(candidates))
	for _, e := range candidates {
		if f.matches(e.obj.GetMetadata()) {
			out = append(out, e.obj)
		}
	}
	return out, nil
}

// List returns copies of the objects matching f.
func (s *Store[T]) List(f Filter) ([]T, error) {
	objs, err := s.list(f)
	for i, o := range objs {
		objs[i] = clone(o)
	}
	return objs, err
}

// update applies mutate to a private copy of the object with id and stores
// the copy; an error from mutate leaves the object untouched. mutate reports
// whether it changed the spec: that bumps the generation and starts a
// transition, and is refused while the object is being deleted.
func (s *Store[T]) update(id string, mutate func(T) (specChanged bool, err error)) (T, error) {
	var zero T
	if err := checkID(s.ops.idField, id); err != nil {
		return zero, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return zero, runtimeerr.NotFoundf("%s %s not found", s.ops.kind, id)
	}
	obj := clone(e.obj)
	specChanged, err := mutate(obj)
	if err != nil {
		return zero, err
	}
	md := obj.GetMetadata()
	if specChanged && md.DeletedAt != 0 {
		return zero, runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "%s %s is being deleted; its spec can no longer change", s.ops.kind, id)
	}
	oldClass, oldCost := s.ops.class(e.obj)
	newClass, newCost := s.ops.class(obj)
	if oldClass != newClass || oldCost != newCost {
		s.releaseLocked(oldClass, oldCost)
		if err := s.reserveLocked(newClass, newCost); err != nil {
			_ = s.reserveLocked(oldClass, oldCost) // give back what we released
			return zero, err
		}
	}
	var records []eventRecord
	if specChanged {
		md.Generation++
		if s.delay == 0 {
			_, records = s.ops.settle(obj)
		}
	}
	e.obj = obj
	s.recordLocked(obj, records)
	s.watchers.Publish(WatchModified, obj)
	if specChanged {
		s.scheduleSettleLocked(e)
	}
	return obj, nil
}

func (s *Store[T]) releaseLocked(class string, cost int64) {
	if class != "" {
		s.used[class] -= cost
	}
}

// Delete deletes the object with id. A missing object is success: deletes
// are idempotent. With a state delay the object first shows deleted_at and
// disappears after the delay.
func (s *Store[T]) Delete(id string) error {
	if err := checkID(s.ops.idField, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok || e.obj.GetMetadata().DeletedAt != 0 {
		return nil
	}
	if s.delay == 0 {
		s.removeLocked(e)
		return nil
	}
	obj := clone(e.obj)
	obj.GetMetadata().DeletedAt = now()
	s.ops.terminate(obj)
	e.obj = obj
	s.recordLocked(obj, []eventRecord{normal("Deleting", "Delete", "Deleting "+s.ops.kind+" "+id)})
	s.watchers.Publish(WatchModified, obj)
	s.stopTimerLocked(e)
	e.timer = time.AfterFunc(s.delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if cur, ok := s.byID[id]; ok && cur == e && !s.closed {
			s.removeLocked(e)
		}
	})
	return nil
}

func (s *Store[T]) removeLocked(e *entry[T]) {
	md := e.obj.GetMetadata()
	s.stopTimerLocked(e)
	delete(s.byID, md.Id)
	if uid := md.Labels[s.ops.uidLabel]; uid != "" && s.byUID[uid] == e {
		delete(s.byUID, uid)
	}
	last := s.order[len(s.order)-1]
	s.order[e.pos], last.pos = last, e.pos
	s.order[len(s.order)-1] = nil
	s.order = s.order[:len(s.order)-1]
	s.releaseLocked(s.ops.class(e.obj))
	s.recordLocked(e.obj, []eventRecord{normal("Deleted", "Delete", "Deleted "+s.ops.kind+" "+md.Id)})
	s.watchers.Publish(WatchDeleted, e.obj)
}

// scheduleSettleLocked runs the transition after the state delay; a newer
// change replaces a pending transition, so only the latest spec settles.
func (s *Store[T]) scheduleSettleLocked(e *entry[T]) {
	if s.delay == 0 {
		return
	}
	s.stopTimerLocked(e)
	e.timer = time.AfterFunc(s.delay, func() { s.settleEntry(e) })
}

func (s *Store[T]) settleEntry(e *entry[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	md := e.obj.GetMetadata()
	if s.closed || s.byID[md.Id] != e || md.DeletedAt != 0 {
		return
	}
	obj := clone(e.obj)
	changed, records := s.ops.settle(obj)
	if !changed {
		return
	}
	e.obj = obj
	s.recordLocked(obj, records)
	s.watchers.Publish(WatchModified, obj)
}

func (s *Store[T]) stopTimerLocked(e *entry[T]) {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
}

func (s *Store[T]) recordLocked(obj T, records []eventRecord) {
	at := eventNow()
	for _, r := range records {
		s.events.record(obj.GetMetadata(), r, at)
	}
}

// Usage returns how much of each class's capacity is in use (objects being
// deleted still count until they are gone).
func (s *Store[T]) Usage() map[string]int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return copyMap(s.used)
}

// Len returns the number of objects.
func (s *Store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.order)
}

// close stops pending transitions and ends every watch.
func (s *Store[T]) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, e := range s.order {
		s.stopTimerLocked(e)
	}
	s.watchers.Close()
}
