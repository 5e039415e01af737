// Package scheduler binds Machines, Volumes and Buckets to pools. One generic core serves the three
// kinds through small adapters. Decisions are made one at a time from an in-memory view of pools
// and usage; binds are sent by parallel workers. Capacity of a bind in flight is "assumed" until
// the bound object comes back through the watch, so concurrent decisions never overcommit a pool.
package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
)

// Adapter teaches the generic scheduler one kind: how to read objects and pools, and which
// field binds them.
type Adapter[O client.Object, P client.Object] struct {
	// Kind names the scheduled kind in logs, events and metrics ("Machine").
	Kind string
	// NewObject and NewPool return empty objects of the kind and its pool kind.
	NewObject func() O
	NewPool   func() P
	// ObjectInfo extracts scheduling input and the bound pool name ("" when unbound). An error
	// means the object cannot be scheduled as it is (e.g. a Volume without size); it is reported
	// on the object and retried when the object changes.
	ObjectInfo func(O) (info ObjectInfo, poolRef string, err error)
	PoolInfo   func(P) PoolInfo
	// PoolRefField is the JSON name of the spec field holding the pool reference.
	PoolRefField string
	// ScheduledCondition returns the object's Scheduled condition, if it has one.
	ScheduledCondition func(O) (status corev1.ConditionStatus, reason, message string, found bool)
	// SetScheduledCondition sets the object's Scheduled condition.
	SetScheduledCondition func(O, corev1.ConditionStatus, string, string)
	// Classless, when set, explains why an object of the kind without a class (and without a
	// pool) never progresses; the scheduler reports it as Scheduled=False/NoClass with a Warning
	// event. Unset for kinds whose class-less objects progress otherwise (connection Volumes).
	Classless string
	// Pin, when set, resolves ObjectInfo.Source: the only pool that may take the object, or why
	// it waits (no pool known yet). It reads from the scheduler's cache, which watches PinSource;
	// a change of a source requeues the objects waiting on it.
	Pin       func(ctx context.Context, r client.Reader, namespace, source string) (pool string, waiting string, err error)
	PinSource client.Object
}

// Options tune a scheduler.
type Options struct {
	// BindWorkers send binds in parallel. Default 16.
	BindWorkers int
	// UnschedulableRetryPeriod is a backstop: unschedulable objects are retried this often even
	// when no event suggests they might fit now. Default 1m.
	UnschedulableRetryPeriod time.Duration
	// SkipBindEvents suppresses the Normal "Scheduled" Event per bind. Each Event is one more
	// apiserver write; they are written in the background, yielding to binds (bindEvents).
	SkipBindEvents bool
}

// Scheduler is a manager.Runnable that schedules one kind.
type Scheduler[O client.Object, P client.Object] struct {
	adapter  Adapter[O, P]
	opts     Options
	cache    cache.Cache
	client   client.Client
	recorder events.EventRecorder
	log      logr.Logger

	state *state
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]
	binds chan bindJob
	// events writes the bind Events, yielding to binds.
	events *bindEvents
	// pinWaiters are objects waiting for their pin source to name a pool, by source (state.mu).
	pinWaiters map[types.NamespacedName]map[types.NamespacedName]struct{}
}

type bindJob struct {
	key     types.NamespacedName
	uid     types.UID
	rv      string
	pool    string
	attempt uint64
	// pending is the object as decided on: pending again if the bind fails.
	pending *pendingObject
}

// FieldManager is the schedulers' server-side-apply field manager.
const FieldManager = "ironfed-scheduler"

// OwnedStatus is what a scheduler writes of an object's status: its Scheduled condition only.
var OwnedStatus = conditions.Owned{Fields: []string{}, Conditions: conditions.Only(commonv1alpha1.ConditionTypeScheduled)}

// New creates a scheduler; Start it through a manager (it needs leader election).
func New[O client.Object, P client.Object](a Adapter[O, P], c cache.Cache, cl client.Client, rec events.EventRecorder, log logr.Logger, opts Options) *Scheduler[O, P] {
	if opts.BindWorkers <= 0 {
		opts.BindWorkers = 16
	}
	if opts.UnschedulableRetryPeriod <= 0 {
		opts.UnschedulableRetryPeriod = time.Minute
	}
	return &Scheduler[O, P]{
		adapter: a, opts: opts, cache: c, client: cl, recorder: rec,
		log:   log.WithValues("kind", a.Kind),
		state: newState(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			retryLimiter(),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "scheduler-" + a.Kind}),
		binds:      make(chan bindJob, 1024),
		events:     newBindEvents(),
		pinWaiters: map[types.NamespacedName]map[types.NamespacedName]struct{}{},
	}
}

// maxRetryDelay caps the backoff of an object whose bind failed: client-go's default grows to
// 16 minutes, so after a long outage an object would wait that long after the apiserver is back.
const maxRetryDelay = 30 * time.Second

func retryLimiter() workqueue.TypedRateLimiter[types.NamespacedName] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](5*time.Millisecond, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[types.NamespacedName]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// NeedLeaderElection: two active schedulers would each assume capacity the other cannot see.
func (s *Scheduler[O, P]) NeedLeaderElection() bool { return true }

// Start runs until ctx is done.
func (s *Scheduler[O, P]) Start(ctx context.Context) error {
	poolInformer, err := s.cache.GetInformer(ctx, s.adapter.NewPool())
	if err != nil {
		return err
	}
	objInformer, err := s.cache.GetInformer(ctx, s.adapter.NewObject())
	if err != nil {
		return err
	}
	// Pools first, so the first objects find them.
	if _, err := poolInformer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    s.onPool,
		UpdateFunc: func(_, n any) { s.onPool(n) },
		DeleteFunc: s.onPoolDelete,
	}); err != nil {
		return err
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), poolInformer.HasSynced) {
		return ctx.Err()
	}
	if err := s.watchPinSources(ctx); err != nil {
		return err
	}
	if _, err := objInformer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    s.onObject,
		UpdateFunc: func(_, n any) { s.onObject(n) },
		DeleteFunc: s.onObjectDelete,
	}); err != nil {
		return err
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), objInformer.HasSynced) {
		return ctx.Err()
	}

	var wg sync.WaitGroup
	for range s.opts.BindWorkers {
		wg.Go(func() {
			for job := range s.binds {
				s.bind(ctx, job)
			}
		})
	}
	wg.Go(func() { s.retryUnschedulablePeriodically(ctx) })
	if !s.opts.SkipBindEvents {
		wg.Go(func() { s.runBindEvents(ctx) })
	}
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	s.log.Info("Scheduler started")
	for s.scheduleNext(ctx) {
	}
	close(s.binds)
	wg.Wait()
	return nil
}

func (s *Scheduler[O, P]) onPool(obj any) {
	p, ok := obj.(P)
	if !ok {
		return
	}
	info := s.adapter.PoolInfo(p)
	if s.state.setPool(&info) {
		s.requeue(s.state.takeUnschedulable(info.Capacity, false))
	}
	s.requeue(s.state.takeOrphans(info.Name))
}

func (s *Scheduler[O, P]) onPoolDelete(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if p, ok := obj.(P); ok {
		s.state.deletePool(p.GetName())
	}
}

func (s *Scheduler[O, P]) onObject(obj any) {
	o, ok := obj.(O)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(o)
	info, poolRef, err := s.adapter.ObjectInfo(o)
	switch {
	case info.Class == "" && poolRef == "":
		// Class-less volumes and buckets are static: bound by hand, never scheduled.
		s.state.observeGone(o.GetUID(), key)
		if _, reason, _, _ := s.adapter.ScheduledCondition(o); s.adapter.Classless != "" && reason != ReasonNoClass && o.GetDeletionTimestamp().IsZero() {
			s.queue.Add(key) // confirmScheduled says why it waits
		}
	case poolRef != "":
		s.dropPinWaiter(key, info.Source)
		s.state.observeBound(o.GetUID(), key, binding{pool: poolRef, class: info.Class, amount: info.Amount})
		status, _, _, found := s.adapter.ScheduledCondition(o)
		if (found && status == corev1.ConditionFalse) || !s.state.hasPool(poolRef) {
			// An earlier attempt found no pool, or the object came bound (by hand, or by a
			// broker) to a pool that does not exist: confirmScheduled says which.
			s.queue.Add(key)
		}
	case o.GetDeletionTimestamp() != nil:
		s.state.observeGone(o.GetUID(), key)
	default:
		s.state.observePending(key, &pendingObject{info: info, uid: o.GetUID(), resourceVersion: o.GetResourceVersion(), invalid: err})
		s.queue.Add(key)
	}
}

func (s *Scheduler[O, P]) onObjectDelete(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	o, ok := obj.(O)
	if !ok {
		return
	}
	if info, _, _ := s.adapter.ObjectInfo(o); info.Source != "" {
		s.dropPinWaiter(client.ObjectKeyFromObject(o), info.Source)
	}
	if class := s.state.observeGone(o.GetUID(), client.ObjectKeyFromObject(o)); class != "" {
		s.requeue(s.state.takeUnschedulable(map[string]int64{class: 0}, false))
	}
}

func (s *Scheduler[O, P]) requeue(keys []types.NamespacedName) {
	for _, k := range keys {
		s.queue.Add(k)
	}
}

func (s *Scheduler[O, P]) retryUnschedulablePeriodically(ctx context.Context) {
	t := time.NewTicker(s.opts.UnschedulableRetryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.requeue(s.state.takeUnschedulable(nil, true))
		}
	}
}

// scheduleNext makes one decision. It returns false once the queue is shut down.
func (s *Scheduler[O, P]) scheduleNext(ctx context.Context) bool {
	key, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	defer s.queue.Done(key)

	s.state.mu.Lock()
	p := s.state.pending[key]
	if p == nil { // bound or deleted meanwhile
		s.state.mu.Unlock()
		s.confirmScheduled(ctx, key)
		return true
	}
	if p.invalid != nil {
		s.state.unschedulable[key] = p.info.Class
		s.state.mu.Unlock()
		scheduleAttempts.WithLabelValues(s.adapter.Kind, resultUnschedulable).Inc()
		s.reportUnschedulable(ctx, key, "InvalidSpec", p.invalid.Error())
		return true
	}
	var pool *PoolInfo
	var reasons map[Reason]int
	if p.info.Source != "" && s.adapter.Pin != nil {
		var reason, message string
		if pool, reason, message = s.pinned(ctx, key, p); pool == nil {
			s.state.unschedulable[key] = p.info.Class
			s.state.mu.Unlock()
			scheduleAttempts.WithLabelValues(s.adapter.Kind, resultUnschedulable).Inc()
			s.reportUnschedulable(ctx, key, reason, message)
			return true
		}
	} else {
		pool, reasons = s.state.choose(&p.info)
	}
	if pool == nil {
		s.state.unschedulable[key] = p.info.Class
		total := len(s.state.pools)
		waiting := len(s.state.unschedulable)
		s.state.mu.Unlock()
		scheduleAttempts.WithLabelValues(s.adapter.Kind, resultUnschedulable).Inc()
		pendingObjects.WithLabelValues(s.adapter.Kind).Set(float64(waiting))
		s.reportUnschedulable(ctx, key, commonv1alpha1.ReasonUnschedulable, unschedulableMessage(total, reasons))
		return true
	}
	attempt := s.state.assume(p.uid, binding{pool: pool.Name, class: p.info.Class, amount: p.info.Amount})
	delete(s.state.pending, key) // back via the watch, bound, or via a failed bind
	job := bindJob{key: key, uid: p.uid, rv: p.resourceVersion, pool: pool.Name, attempt: attempt, pending: p}
	s.state.mu.Unlock()
	s.events.started()
	select {
	case s.binds <- job:
	case <-ctx.Done():
		s.events.finished(key, "", false)
	}
	return true
}

func (s *Scheduler[O, P]) bind(ctx context.Context, job bindJob) {
	obj := s.adapter.NewObject()
	obj.SetNamespace(job.key.Namespace)
	obj.SetName(job.key.Name)
	// The resourceVersion precondition makes the bind fail rather than overwrite a binding or a
	// spec change the decision did not see.
	patch := fmt.Appendf(nil, `{"metadata":{"resourceVersion":%q},"spec":{%q:{"name":%q}}}`, job.rv, s.adapter.PoolRefField, job.pool)
	start := time.Now()
	err := s.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
	bindDuration.WithLabelValues(s.adapter.Kind).Observe(time.Since(start).Seconds())
	s.events.finished(job.key, job.pool, err == nil && !s.opts.SkipBindEvents)
	if err != nil {
		scheduleAttempts.WithLabelValues(s.adapter.Kind, resultBindError).Inc()
		if apierrors.IsNotFound(err) {
			s.state.forget(job.uid, job.attempt, job.key, nil)
			return
		}
		// A bind refused by an unavailable apiserver or etcd changed nothing, so no watch event
		// brings the object back: it is pending again as it was (unless the watch already
		// delivered something newer). Before, it waited unbound until its next change: after a
		// leaf etcd restart 14 machines never reached their provider (TestChaos in CI).
		s.state.forget(job.uid, job.attempt, job.key, job.pending)
		s.log.V(1).Info("Bind failed, retrying", "object", job.key, "pool", job.pool, "error", err.Error())
		s.queue.AddRateLimited(job.key)
		return
	}
	s.queue.Forget(job.key)
	scheduleAttempts.WithLabelValues(s.adapter.Kind, resultScheduled).Inc()
	// Scheduled=False left by an earlier attempt is turned True by the bound object's next
	// informer event (onObject → confirmScheduled).
}

// confirmScheduled settles the Scheduled condition of a bound object: True when an earlier
// attempt left it False (a False condition left behind would tell every level above that the
// object cannot be placed), False/PoolNotFound while its pool does not exist (no poollet will
// ever pick it up, and nothing else would say so). The poollet applies its own conditions beside
// it and cannot overwrite it.
func (s *Scheduler[O, P]) confirmScheduled(ctx context.Context, key types.NamespacedName) {
	obj := s.adapter.NewObject()
	if err := s.cache.Get(ctx, key, obj); err != nil {
		s.queue.Forget(key)
		return
	}
	info, pool, err := s.adapter.ObjectInfo(obj)
	if pool == "" && info.Class == "" && s.adapter.Classless != "" && obj.GetDeletionTimestamp().IsZero() {
		s.reportClassless(ctx, key, obj)
		return
	}
	if err != nil || pool == "" || !obj.GetDeletionTimestamp().IsZero() {
		s.queue.Forget(key)
		return
	}
	status, reason, message := corev1.ConditionTrue, commonv1alpha1.ReasonScheduled, "Bound to pool "+pool
	if !s.state.poolExists(pool, key) {
		status, reason, message = corev1.ConditionFalse, ReasonPoolNotFound,
			fmt.Sprintf("Bound to %sPool %s, which does not exist: create it or delete this %s", s.adapter.Kind, pool, s.adapter.Kind)
	} else if st, _, _, found := s.adapter.ScheduledCondition(obj); !found || st != corev1.ConditionFalse {
		s.queue.Forget(key) // scheduled normally: the bind carries the news, no condition needed
		return
	}
	wrote, err := s.applyScheduledCondition(ctx, obj, status, reason, message)
	if err != nil && !apierrors.IsNotFound(err) {
		s.queue.AddRateLimited(key)
		return
	}
	if wrote && status == corev1.ConditionFalse {
		s.recorder.Eventf(obj, nil, corev1.EventTypeWarning, ReasonPoolNotFound, "Schedule", "%s", message)
	}
	s.queue.Forget(key)
}

// ReasonPoolNotFound: the object is bound to a pool that does not exist.
const ReasonPoolNotFound = "PoolNotFound"

// ReasonNoClass: the object has no class, so ironfed neither schedules nor provisions it.
const ReasonNoClass = "NoClass"

// reportClassless says on a class-less object why it never progresses (found by the probe: a
// Bucket without a class waited with no condition and no event).
func (s *Scheduler[O, P]) reportClassless(ctx context.Context, key types.NamespacedName, obj O) {
	wrote, err := s.applyScheduledCondition(ctx, obj, corev1.ConditionFalse, ReasonNoClass, s.adapter.Classless)
	if err != nil && !apierrors.IsNotFound(err) {
		s.queue.AddRateLimited(key)
		return
	}
	if wrote {
		s.recorder.Eventf(obj, nil, corev1.EventTypeWarning, ReasonNoClass, "Schedule", "%s", s.adapter.Classless)
	}
	s.queue.Forget(key)
}

// reportUnschedulable sets Scheduled=False on the object and records a Warning event, both only
// when the message changed, so a retry that fails the same way writes nothing.
func (s *Scheduler[O, P]) reportUnschedulable(ctx context.Context, key types.NamespacedName, reason, message string) {
	obj := s.adapter.NewObject()
	if err := s.cache.Get(ctx, key, obj); err != nil {
		return
	}
	if wrote, _ := s.applyScheduledCondition(ctx, obj, corev1.ConditionFalse, reason, message); wrote {
		s.recorder.Eventf(obj, nil, corev1.EventTypeWarning, "FailedScheduling", "Schedule", "%s", message)
		s.log.V(1).Info("Unschedulable", "object", key, "reason", reason, "message", message)
	}
}

// applyScheduledCondition applies the scheduler's only condition if it differs; it reports
// whether it wrote. A stale view cannot hurt another writer: the apply carries Scheduled alone.
func (s *Scheduler[O, P]) applyScheduledCondition(ctx context.Context, obj O, status corev1.ConditionStatus, reason, message string) (bool, error) {
	if st, r, m, found := s.adapter.ScheduledCondition(obj); found && st == status && r == reason && m == message {
		return false, nil
	}
	s.adapter.SetScheduledCondition(obj, status, reason, message)
	if err := conditions.ApplyStatus(ctx, s.client, obj, FieldManager, OwnedStatus); err != nil {
		s.log.V(1).Info("Could not update Scheduled condition", "object", client.ObjectKeyFromObject(obj), "error", err.Error())
		return false, err
	}
	return true, nil
}
