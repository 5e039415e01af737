package common

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }

// CreateFuncs build a new object of class Class (checked by CheckClass):
// Build returns the downstream object for the id and metadata; Subs creates
// its sub-objects once the object exists (owner references need its UID).
// Both may be called again on a retry. Without Subs the object is complete
// at once: it is created with the created label, in one write.
type CreateFuncs[O client.Object] struct {
	Class string
	Build func(id string, om metav1.ObjectMeta) (O, error)
	Subs  func(ctx context.Context, owner O) error
	// Classless skips the class check: the kind has no classes (volume snapshots).
	Classless bool
}

// Create creates an object idempotently: a create whose poollet UID label
// names an existing object returns that object. Concurrent creates for one
// UID are serialised. A partial failure deletes what was created.
// created is false when an existing object is returned (shared: don't modify it).
func (s *Store[O, T]) Create(ctx context.Context, md *metav1alpha1.ObjectMetadata, f CreateFuncs[O]) (_ T, created bool, _ error) {
	var zero T
	if err := CheckNewMetadata(md); err != nil {
		return zero, false, err
	}
	if !f.Classless {
		if err := s.CheckClass(ctx, f.Class); err != nil {
			return zero, false, err
		}
	}
	uid := md.GetLabels()[labels.UIDLabel(s.Kind)]
	if uid != "" {
		unlock := s.locks.Lock(uid)
		defer unlock()
		existing, err := s.findByUID(ctx, uid)
		if err != nil {
			return zero, false, err
		}
		if existing != nil {
			t, err := s.Convert(*existing)
			return t, false, err
		}
	}
	id := NewID()
	defer s.setInflight(id)()
	om, err := s.ObjectMeta(id, md)
	if err != nil {
		return zero, false, err
	}
	if f.Subs == nil {
		om.Labels[CreatedLabel] = "true"
	}
	obj, err := f.Build(id, om)
	if err != nil {
		return zero, false, err
	}
	if err := s.D.Write(ctx, func(ctx context.Context, c client.Client) error { return c.Create(ctx, obj) }); err != nil {
		return zero, false, s.D.ToStatus("create "+s.A.Kind, err)
	}
	rollback := func(cause error) (T, bool, error) {
		if _, err := s.deleteObject(context.WithoutCancel(ctx), id); err != nil {
			s.Log.Error(err, "Rolling back a partial create failed; the incomplete object is ignored by lists and replaced by the next create", "id", id)
		}
		return zero, false, cause
	}
	if f.Subs != nil {
		if err := f.Subs(ctx, obj); err != nil {
			return rollback(s.D.ToStatus("create sub-objects of "+s.A.Kind+" "+id, err))
		}
		patch := map[string]any{"metadata": map[string]any{"labels": map[string]string{CreatedLabel: "true"}}}
		if err := s.patch(ctx, obj, patch); err != nil {
			return rollback(s.D.ToStatus("mark "+s.A.Kind+" "+id+" created", err))
		}
	}
	if uid != "" {
		s.recent.Add(uid, id)
	}
	s.WaitCached(ctx, obj)
	t, err := s.A.ToIRI(s.Broker, obj)
	if errors.Is(err, ErrIncomplete) {
		err = nil
	}
	return t, true, err
}

// findByUID returns the created object for the poollet uid, deleting an
// incomplete one left by a failed create. Recent creates whose informer
// event has not arrived yet are found through the recent-create cache.
func (s *Store[O, T]) findByUID(ctx context.Context, uid string) (*O, error) {
	objs, err := s.byUID(uid)
	if err != nil {
		return nil, err
	}
	recentID, isRecent := s.recent.Get(uid)
	var found *O
	var incomplete []O
	for _, o := range objs {
		switch {
		case o.GetDeletionTimestamp() != nil:
		case IsCreated(o):
			if t := o.GetCreationTimestamp(); found == nil || t.Before(ptrTime((*found).GetCreationTimestamp())) {
				found = &o
			}
		case !isRecent || o.GetName() != recentID:
			incomplete = append(incomplete, o)
		}
	}
	if found != nil {
		return found, nil
	}
	if isRecent {
		// Created by this process, but the cache has not seen it complete yet.
		o := s.A.New()
		err := s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: recentID}, o)
		})
		switch {
		case err == nil && IsCreated(o) && o.GetDeletionTimestamp() == nil:
			return &o, nil
		case err == nil || apierrors.IsNotFound(err):
			s.recent.Remove(uid)
		default:
			return nil, s.D.ToStatus("get "+s.A.Kind+" "+recentID, err)
		}
	}
	// Left over by a create that failed and could not roll back (e.g. the
	// process died): replace it, deleting it and its sub-objects. The delete
	// is conditional on the listed UID and resourceVersion; an object that
	// changed meanwhile (the cache was late) is read again: completed, it is
	// the answer, else it is deleted at its current version.
	for _, o := range incomplete {
		for attempt := 0; ; attempt++ {
			res, err := s.deleteIncomplete(ctx, o)
			if err != nil {
				return nil, s.D.ToStatus("delete incomplete "+s.A.Kind+" "+o.GetName(), err)
			}
			if res != sweepChanged {
				break
			}
			if attempt >= 3 {
				return nil, status.Errorf(codes.Aborted, "incomplete %s %s keeps changing; retry the create", s.A.Kind, o.GetName())
			}
			fresh := s.A.New()
			err = s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
				return c.Get(ctx, client.ObjectKeyFromObject(o), fresh)
			})
			if apierrors.IsNotFound(err) {
				break
			}
			if err != nil {
				return nil, s.D.ToStatus("get "+s.A.Kind+" "+o.GetName(), err)
			}
			if fresh.GetDeletionTimestamp() != nil {
				break
			}
			if IsCreated(fresh) {
				return &fresh, nil
			}
			o = fresh
		}
	}
	return nil, nil
}

func ptrTime(t metav1.Time) *metav1.Time { return &t }

// Delete deletes the object id and, by owner references, its sub-objects.
// A missing or malformed id is success.
func (s *Store[O, T]) Delete(ctx context.Context, id string) error {
	if id == "" {
		return Invalidf("%s id is required", s.A.Kind)
	}
	if !ValidID(id) {
		return nil
	}
	var subs []client.Object
	if cur := s.A.New(); s.A.Subs != nil && s.D.Cache.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: id}, cur) == nil {
		subs = s.A.Subs(cur)
	}
	missing, err := s.deleteObject(ctx, id)
	if err != nil {
		return s.D.ToStatus("delete "+s.A.Kind+" "+id, err)
	}
	if missing {
		s.dropStale(ctx, id)
	}
	gone := s.A.New()
	gone.SetName(id)
	gone.SetNamespace(s.Namespace)
	s.WaitGone(ctx, gone)
	for _, o := range subs {
		if err := s.DeleteSub(ctx, o); err != nil {
			s.Log.Error(err, "Deleting a sub-object failed; the garbage collector removes it", "id", id, "name", o.GetName())
		}
	}
	return nil
}

// deleteObject deletes id downstream; missing reports that the apiserver no longer had it.
func (s *Store[O, T]) deleteObject(ctx context.Context, id string) (missing bool, err error) {
	o := s.A.New()
	o.SetName(id)
	o.SetNamespace(s.Namespace)
	err = s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		err := c.Delete(ctx, o, client.PropagationPolicy(metav1.DeletePropagationBackground))
		missing = apierrors.IsNotFound(err)
		return client.IgnoreNotFound(err)
	})
	return missing, err
}

// dropStale removes id from the cache when the apiserver has just answered that it does not
// exist: the informer lost its deletion event. Watchers are told it is Deleted, or the poollet
// above would wait for it forever (seen once in TestChaos: three Machines deleted 1 s after the
// downstream etcd came back stayed in the broker's answers). A late real event is harmless:
// the store ignores it and watchers ignore a second Deleted.
func (s *Store[O, T]) dropStale(ctx context.Context, id string) {
	cur := s.A.New()
	if s.D.Cache.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: id}, cur) != nil {
		return // the cache agrees
	}
	if !s.D.stores.drop(cur) {
		return
	}
	s.Log.Info("The downstream cache still held an object the apiserver no longer has (a lost deletion event); dropped it", "id", id, "resourceVersion", cur.GetResourceVersion())
	staleCacheDrops.WithLabelValues(s.A.Kind).Inc()
	if IsCreated(cur) {
		s.Hub.dispatch(Deleted, cur)
	}
}

// patch merge-patches obj (updated in place with the answer).
func (s *Store[O, T]) patch(ctx context.Context, obj client.Object, patch map[string]any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data))
	})
}

// Update patches the created object id with the merge patch that change
// computes from its current state. The patch carries the resourceVersion it
// was computed from; on a conflict it is recomputed from a fresh read.
// change returns a nil patch when nothing is to be done. Every patch is a change of the desired
// state: it raises the IRI generation (GenerationAnnotation) in the same write, and the
// resourceVersion precondition keeps the count exact under concurrent updates.
func (s *Store[O, T]) Update(ctx context.Context, id string, change func(cur O) (map[string]any, error)) error {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		patch, err := change(cur)
		if err != nil || patch == nil {
			return err
		}
		md, _ := patch["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			patch["metadata"] = md
		}
		md["resourceVersion"] = cur.GetResourceVersion()
		withNextGeneration(patch, cur)
		target := s.A.New()
		target.SetName(id)
		target.SetNamespace(s.Namespace)
		err = s.patch(ctx, target, patch)
		if err == nil {
			s.WaitCached(ctx, target)
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 5 {
			if apierrors.IsNotFound(err) {
				return NotFoundf("%s %s not found", s.A.Kind, id)
			}
			return s.D.ToStatus("update "+s.A.Kind+" "+id, err)
		}
		time.Sleep(time.Duration(attempt*20) * time.Millisecond)
		fresh := s.A.New()
		if err := s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: id}, fresh)
		}); err != nil {
			if apierrors.IsNotFound(err) {
				return NotFoundf("%s %s not found", s.A.Kind, id)
			}
			return s.D.ToStatus("update "+s.A.Kind+" "+id, err)
		}
		cur = fresh
	}
}

// UpdateAnnotations replaces the IRI annotations of id.
func (s *Store[O, T]) UpdateAnnotations(ctx context.Context, id string, annotations map[string]string) error {
	patch, err := AnnotationsPatch(annotations)
	if err != nil {
		return err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	target := s.A.New()
	target.SetName(id)
	target.SetNamespace(s.Namespace)
	if err := s.patch(ctx, target, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return NotFoundf("%s %s not found", s.A.Kind, id)
		}
		return s.D.ToStatus("update annotations of "+s.A.Kind+" "+id, err)
	}
	s.WaitCached(ctx, target)
	return nil
}

// CreateSub creates a sub-object (an existing one of the same name is
// replaced: it can only be left over from an earlier attempt).
func (s *Store[O, T]) CreateSub(ctx context.Context, o client.Object) error {
	return s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		err := c.Create(ctx, o)
		if apierrors.IsAlreadyExists(err) {
			o.SetResourceVersion("")
			data, merr := json.Marshal(o)
			if merr != nil {
				return merr
			}
			return c.Patch(ctx, o, client.RawPatch(types.MergePatchType, data))
		}
		return err
	})
}

// DeleteSub deletes a sub-object; missing is fine.
func (s *Store[O, T]) DeleteSub(ctx context.Context, o client.Object) error {
	return s.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		return client.IgnoreNotFound(c.Delete(ctx, o))
	})
}
