package common

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var incompleteSwept = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "ironfed_broker_incomplete_swept_total",
	Help: "Incomplete downstream objects (left over by a create that crashed before setting broker.ironfed.dev/created) deleted by the sweeper.",
}, []string{"broker", "kind"})

var sweepRounds = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "ironfed_broker_incomplete_sweeps_total",
	Help: "Rounds of the sweeper of incomplete objects (on the leader).",
}, []string{"broker"})

func init() {
	ctrlmetrics.Registry.MustRegister(incompleteSwept, sweepRounds)
}

// Sweeper removes the incomplete leftovers of crashed creates of one kind.
type Sweeper interface {
	// SweepIncomplete deletes the broker's objects without the created
	// label whose creation is older than grace; it returns how many it deleted.
	SweepIncomplete(ctx context.Context, grace time.Duration) (int, error)
}

// SweepIncomplete deletes the objects of this broker and kind that lack the
// created label and were created more than grace ago, with their
// sub-objects. Objects this process is still creating are never touched;
// an object with a poollet UID is deleted under the UID's create lock, and
// every delete carries a UID + resourceVersion precondition, so an object
// that changed since it was listed (e.g. was completed) is kept.
func (s *Store[O, T]) SweepIncomplete(ctx context.Context, grace time.Duration) (int, error) {
	objs, err := s.byIndex(indexIncomplete, incompleteKey[0])
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", s.A.Kind, err)
	}
	now := s.Clock.Now()
	var swept []string
	var firstErr error
	for _, o := range objs {
		if IsCreated(o) || o.GetDeletionTimestamp() != nil || o.GetLabels()[ManagedByLabel] != s.Name ||
			now.Sub(o.GetCreationTimestamp().Time) < grace {
			continue
		}
		ok, err := s.sweepOne(ctx, o)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			swept = append(swept, o.GetName())
		}
	}
	if len(swept) > 0 {
		s.Log.Info("Deleted incomplete objects left over by crashed creates", "kind", s.A.Kind, "count", len(swept), "ids", swept, "gracePeriod", grace)
	}
	return len(swept), firstErr
}

// sweepOne deletes the incomplete cached object o unless it is being created
// or has changed; ok says whether it deleted it.
func (s *Store[O, T]) sweepOne(ctx context.Context, o O) (ok bool, _ error) {
	name := o.GetName()
	if uid := o.GetLabels()[UIDLabel]; uid != "" {
		unlock := s.locks.Lock(uid)
		defer unlock()
		if id, isRecent := s.recent.Get(uid); isRecent && id == name {
			return false, nil // completed by this process; the cache is late
		}
	}
	if s.isInflight(name) {
		return false, nil
	}
	res, err := s.deleteIncomplete(ctx, o)
	if err != nil || res != sweepDeleted {
		return false, err
	}
	incompleteSwept.WithLabelValues(s.Name, s.A.Kind).Inc()
	s.recordSwept(ctx, o)
	return true, nil
}

// Results of deleteIncomplete.
type sweepResult int

const (
	sweepDeleted sweepResult = iota
	sweepGone                // already deleted
	sweepChanged             // changed since listed (UID or resourceVersion precondition failed): kept
)

// deleteIncomplete deletes the incomplete object o (a cached copy) if it
// still has o's UID and resourceVersion, then its sub-objects.
func (s *Store[O, T]) deleteIncomplete(ctx context.Context, o O) (sweepResult, error) {
	var subs []client.Object
	if s.A.Subs != nil {
		subs = s.A.Subs(o) // before the delete: o is the cache's shared copy
	}
	uid, rv := o.GetUID(), o.GetResourceVersion()
	target := s.A.New()
	target.SetName(o.GetName())
	target.SetNamespace(o.GetNamespace())
	err := s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		return c.Delete(ctx, target, client.Preconditions{UID: &uid, ResourceVersion: &rv},
			client.PropagationPolicy(metav1.DeletePropagationBackground))
	})
	switch {
	case apierrors.IsNotFound(err):
		return sweepGone, nil
	case apierrors.IsConflict(err):
		s.Log.V(1).Info("Incomplete object changed since it was listed; keeping it", "kind", s.A.Kind, "id", o.GetName())
		return sweepChanged, nil
	case err != nil:
		return 0, fmt.Errorf("delete incomplete %s %s: %w", s.A.Kind, o.GetName(), err)
	}
	for _, sub := range subs {
		if err := s.DeleteSub(ctx, sub); err != nil {
			s.Log.Error(err, "Deleting a sub-object of an incomplete object failed; the garbage collector removes it", "id", o.GetName(), "name", sub.GetName())
		}
	}
	return sweepDeleted, nil
}

// recordSwept writes a best-effort events.k8s.io/v1 Event about a swept object.
func (s *Store[O, T]) recordSwept(ctx context.Context, o O) {
	host, _ := os.Hostname()
	now := metav1.NowMicro()
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", o.GetName(), now.UnixNano()), Namespace: s.Namespace},
		EventTime:           now,
		ReportingController: "broker.ironfed.dev/" + s.Name,
		ReportingInstance:   s.Name + "-" + host,
		Action:              "Delete",
		Reason:              "IncompleteSwept",
		Type:                corev1.EventTypeNormal,
		Note:                fmt.Sprintf("Deleted %s %s: its create did not complete (no %s label) within the grace period", s.A.Kind, o.GetName(), CreatedLabel),
		Regarding: corev1.ObjectReference{
			APIVersion: s.A.APIVersion, Kind: s.A.Kind, Namespace: o.GetNamespace(), Name: o.GetName(),
			UID: o.GetUID(), ResourceVersion: o.GetResourceVersion(),
		},
	}
	if err := s.D.Write(ctx, func(ctx context.Context, c client.Client) error { return c.Create(ctx, ev) }); err != nil {
		s.Log.Error(err, "Recording the sweep event failed", "id", o.GetName())
	}
}

func (s *Store[O, T]) setInflight(id string) func() {
	s.inflightMu.Lock()
	if s.inflight == nil {
		s.inflight = map[string]struct{}{}
	}
	s.inflight[id] = struct{}{}
	s.inflightMu.Unlock()
	return func() {
		s.inflightMu.Lock()
		delete(s.inflight, id)
		s.inflightMu.Unlock()
	}
}

func (s *Store[O, T]) isInflight(id string) bool {
	s.inflightMu.Lock()
	defer s.inflightMu.Unlock()
	_, ok := s.inflight[id]
	return ok
}

// sweepLoop sweeps every IncompleteSweepInterval until ctx ends, skipping
// rounds while the breaker is open or the downstream is unreachable.
func (r RunOptions) sweepLoop(ctx context.Context, sweepers []Sweeper) {
	interval, grace := r.IncompleteSweepInterval, r.IncompleteGracePeriod
	if interval <= 0 || len(sweepers) == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.Downstream.BreakerState() == gobreaker.StateOpen {
			r.Log.V(1).Info("Skipping the sweep of incomplete objects: circuit breaker open")
			continue
		}
		if err := r.Downstream.Unreachable(); err != nil {
			r.Log.V(1).Info("Skipping the sweep of incomplete objects: downstream unreachable")
			continue
		}
		for _, sw := range sweepers {
			if _, err := sw.SweepIncomplete(ctx, grace); err != nil && ctx.Err() == nil {
				r.Log.Error(err, "Sweeping incomplete objects failed; retrying next interval")
			}
		}
		sweepRounds.WithLabelValues(r.Name).Inc()
	}
}
