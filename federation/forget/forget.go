// Package forget is the way out when a pool's provider is gone for good — a downstream cluster
// that will not come back, a leaf that burned down: objects bound to the pool can then never be
// deleted, because their poollet waits for the runtime to confirm every delete. Forget releases
// them: it drops the poollet finalizers of the pool's terminating objects (optionally deleting
// all its objects first) and removes the pool, so nothing is scheduled there again.
// Whatever still exists behind the pool is abandoned; clean it up there, if it ever answers.
package forget

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// Options say what to forget.
type Options struct {
	// Pool names the pool of each kind to forget.
	Pool string
	// Kinds to forget: "machine", "volume", "bucket". Default: all three.
	Kinds []string
	// DeleteObjects deletes every object bound to the pool first; otherwise only objects that
	// are already being deleted are released and the others stay (bound to a pool that no longer
	// exists, so they show that and can be deleted later with Forget again).
	DeleteObjects bool
	// DryRun reports what would happen without changing anything.
	DryRun bool
}

// Result counts what Forget did (or would do, with DryRun).
type Result struct {
	Deleted, Released []string // kind/namespace/name
	PoolsRemoved      []string // kind/name
}

type kind struct {
	list      func() client.ObjectList
	pool      func() client.Object
	field     string
	finalizer string
}

var kinds = map[string]kind{
	"machine": {func() client.ObjectList { return &computev1alpha1.MachineList{} }, func() client.Object { return &computev1alpha1.MachinePool{} },
		computev1alpha1.MachinePoolRefNameField, computev1alpha1.MachinePoolletFinalizer},
	"volume": {func() client.ObjectList { return &storagev1alpha1.VolumeList{} }, func() client.Object { return &storagev1alpha1.VolumePool{} },
		storagev1alpha1.VolumePoolRefNameField, storagev1alpha1.VolumePoolletFinalizer},
	"bucket": {func() client.ObjectList { return &storagev1alpha1.BucketList{} }, func() client.Object { return &storagev1alpha1.BucketPool{} },
		storagev1alpha1.BucketPoolRefNameField, storagev1alpha1.BucketPoolletFinalizer},
}

// Forget releases the objects bound to pool o.Pool and removes the pool. The pool's poollets
// must be stopped first, or they re-add their finalizers and re-announce the pool.
func Forget(ctx context.Context, c client.Client, o Options) (*Result, error) {
	if o.Pool == "" {
		return nil, errors.New("pool name is required")
	}
	if len(o.Kinds) == 0 {
		o.Kinds = []string{"machine", "volume", "bucket"}
	}
	for _, k := range o.Kinds {
		if _, ok := kinds[k]; !ok {
			return nil, fmt.Errorf("unknown kind %q: use machine, volume or bucket", k)
		}
	}
	res := &Result{}
	var dry []client.DeleteOption
	var dryPatch []client.PatchOption
	if o.DryRun {
		dry, dryPatch = []client.DeleteOption{client.DryRunAll}, []client.PatchOption{client.DryRunAll}
	}
	for _, name := range o.Kinds {
		k := kinds[name]
		list := k.list()
		if err := c.List(ctx, list, client.MatchingFields{k.field: o.Pool}); err != nil {
			return res, fmt.Errorf("list %ss bound to pool %s: %w", name, o.Pool, err)
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return res, err
		}
		for _, it := range items {
			obj := it.(client.Object)
			ref := name + "/" + obj.GetNamespace() + "/" + obj.GetName()
			if obj.GetDeletionTimestamp() == nil {
				if !o.DeleteObjects {
					continue
				}
				if err := c.Delete(ctx, obj, dry...); client.IgnoreNotFound(err) != nil {
					return res, fmt.Errorf("delete %s: %w", ref, err)
				}
				res.Deleted = append(res.Deleted, ref)
				if !o.DryRun { // the delete changed it (deletionTimestamp) or removed it
					if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
						if apierrors.IsNotFound(err) {
							continue
						}
						return res, fmt.Errorf("get %s: %w", ref, err)
					}
				}
			}
			released := false
			// Optimistic lock: never drop a finalizer list someone changed meanwhile; re-read
			// and retry instead (the garbage collector or a status writer may be at it).
			err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
				if !slices.Contains(obj.GetFinalizers(), k.finalizer) {
					return nil
				}
				orig := obj.DeepCopyObject().(client.Object)
				obj.SetFinalizers(slices.DeleteFunc(obj.GetFinalizers(), func(f string) bool { return f == k.finalizer }))
				err := c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}), dryPatch...)
				if apierrors.IsConflict(err) {
					if gerr := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); gerr != nil {
						return gerr
					}
				}
				released = err == nil
				return err
			})
			if client.IgnoreNotFound(err) != nil {
				return res, fmt.Errorf("release %s: %w", ref, err)
			}
			if released {
				res.Released = append(res.Released, ref)
			}
		}
		pool := k.pool()
		pool.SetName(o.Pool)
		err = c.Delete(ctx, pool, dry...)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return res, fmt.Errorf("delete %spool %s: %w", name, o.Pool, err)
		default:
			res.PoolsRemoved = append(res.PoolsRemoved, name+"pool/"+o.Pool)
		}
	}
	return res, nil
}
