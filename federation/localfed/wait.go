package localfed

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// PoolRef names one pool the federation announces: pool Name of Kind in Cluster.
type PoolRef struct{ Cluster, Kind, Name string }

// Pools lists every pool of the federation: one per kind for each child cluster in its parent,
// and one per kind for each leaf's memory provider.
func (f *Federation) Pools() []PoolRef {
	var out []PoolRef
	for _, c := range f.Topology.Ordered() {
		for _, kind := range Kinds {
			if c.Parent != "" {
				out = append(out, PoolRef{Cluster: c.Parent, Kind: kind, Name: c.Name})
			}
			if f.Topology.IsLeaf(c.Name) {
				out = append(out, PoolRef{Cluster: c.Name, Kind: kind, Name: LeafPoolName(c.Name)})
			}
		}
	}
	return out
}

// PoolStatus says whether a pool is Ready and announces at least one class, and if not why.
func PoolStatus(ctx context.Context, kube client.Client, p PoolRef) (bool, string, error) {
	key := client.ObjectKey{Name: p.Name}
	var ready bool
	var classes int
	var cond conditions.Condition
	switch p.Kind {
	case "machine":
		o := &computev1alpha1.MachinePool{}
		if err := kube.Get(ctx, key, o); err != nil {
			return false, "not announced yet", client.IgnoreNotFound(err)
		}
		cond, ready = conditions.Get(o.Status.Conditions, conditions.MachinePool, commonv1alpha1.ConditionTypeReady)
		classes = len(o.Status.AvailableMachineClasses)
	case "volume":
		o := &storagev1alpha1.VolumePool{}
		if err := kube.Get(ctx, key, o); err != nil {
			return false, "not announced yet", client.IgnoreNotFound(err)
		}
		cond, ready = conditions.Get(o.Status.Conditions, conditions.VolumePool, commonv1alpha1.ConditionTypeReady)
		classes = len(o.Status.AvailableVolumeClasses)
	case "bucket":
		o := &storagev1alpha1.BucketPool{}
		if err := kube.Get(ctx, key, o); err != nil {
			return false, "not announced yet", client.IgnoreNotFound(err)
		}
		cond, ready = conditions.Get(o.Status.Conditions, conditions.BucketPool, commonv1alpha1.ConditionTypeReady)
		classes = len(o.Status.AvailableBucketClasses)
	default:
		return false, "", fmt.Errorf("unknown kind %q", p.Kind)
	}
	switch {
	case !ready:
		return false, "no Ready condition yet", nil
	case cond.Status != "True":
		return false, fmt.Sprintf("Ready=%s %s: %s", cond.Status, cond.Reason, cond.Message), nil
	case classes == 0:
		return false, "Ready but announces no classes yet", nil
	}
	return true, "", nil
}

// waitForPools waits until every pool of the chain is Ready with classes, reporting progress.
func (f *Federation) waitForPools(ctx context.Context) error {
	f.logf("waiting for %d pools to be announced up the chain", len(f.Pools()))
	reported := map[PoolRef]bool{}
	var pending []string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, f.opts.ReadyTimeout, true, func(ctx context.Context) (bool, error) {
		pending = pending[:0]
		for _, p := range f.Pools() {
			if reported[p] {
				continue
			}
			ok, why, err := PoolStatus(ctx, f.clients[p.Cluster], p)
			if err != nil {
				why = err.Error() // keep waiting: the timeout reports it
			}
			if !ok {
				pending = append(pending, fmt.Sprintf("%s/%spool %s: %s", p.Cluster, p.Kind, p.Name, why))
				continue
			}
			reported[p] = true
			f.logf("pool ready          %-8s %spool %s", p.Cluster, p.Kind, p.Name)
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		sort.Strings(pending)
		return fmt.Errorf("pools not ready within %s: %w; pending:\n  %s", f.opts.ReadyTimeout, err, strings.Join(pending, "\n  "))
	}
	return nil
}
