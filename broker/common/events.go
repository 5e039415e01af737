package common

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// EventFilter selects events as the IRI ListEvents filters do.
type EventFilter struct {
	ID       string
	Selector map[string]string
	// From and To bound the event time (Unix seconds, IronCore's unit for events); 0 is unbounded.
	From, To int64
}

// ListEvents returns the downstream Events of the namespace about created
// objects of this kind, from the cache. Events written with events.k8s.io/v1
// are served by the core/v1 API too, so one informer sees both.
func (s *Store[O, T]) ListEvents(ctx context.Context, f EventFilter) ([]*eventv1alpha1.Event, error) {
	var list corev1.EventList
	if err := s.D.Cache.List(ctx, &list, client.InNamespace(s.Namespace)); err != nil {
		return nil, s.D.ToStatus("list events", err)
	}
	metas := map[string]*metav1alpha1.ObjectMetadata{}
	var out []*eventv1alpha1.Event
	for i := range list.Items {
		e := &list.Items[i]
		if e.InvolvedObject.Kind != s.A.Kind || (f.ID != "" && e.InvolvedObject.Name != f.ID) {
			continue
		}
		t := eventTime(e)
		if (f.From != 0 && t < f.From) || (f.To != 0 && t > f.To) {
			continue
		}
		md, ok := metas[e.InvolvedObject.Name]
		if !ok {
			o := s.A.New()
			err := s.D.Cache.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: e.InvolvedObject.Name}, o)
			if err == nil && IsCreated(o) && MatchesLabels(o, f.Selector) {
				md = IRIMetadata(o)
			}
			metas[e.InvolvedObject.Name] = md
		}
		if md == nil {
			continue
		}
		out = append(out, &eventv1alpha1.Event{Spec: &eventv1alpha1.EventSpec{
			InvolvedObjectMeta: md, Reason: e.Reason, Message: e.Message, Type: e.Type, EventTime: t, Action: e.Action,
		}})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec.EventTime < out[j].Spec.EventTime })
	return out, nil
}

// eventTime is when the event last happened, in Unix seconds: a series' last observation, the
// events.k8s.io eventTime, or core/v1's timestamps (events.k8s.io writers leave those empty).
func eventTime(e *corev1.Event) int64 {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Unix()
	case !e.EventTime.IsZero():
		return e.EventTime.Unix()
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Unix()
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Unix()
	}
	return e.CreationTimestamp.Unix()
}
