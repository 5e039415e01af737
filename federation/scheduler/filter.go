package scheduler

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// PoolInfo is what scheduling needs to know about a pool, whatever its kind.
type PoolInfo struct {
	Name   string
	Labels map[string]string
	// Ready is true when the pool's Ready condition is True.
	Ready  bool
	Taints []commonv1alpha1.Taint
	// Capacity per class name, in the kind's unit (instances; bytes for volumes). A class missing
	// here is not offered by the pool.
	Capacity map[string]int64
}

// ObjectInfo is what scheduling needs to know about a Machine, Volume or Bucket.
type ObjectInfo struct {
	Class string
	// Amount of the class capacity the object takes: 1 instance, or its size in bytes.
	Amount       int64
	PoolSelector map[string]string
	Tolerations  []commonv1alpha1.Toleration
	// Source names the object (same namespace) that decides which pool may take this one, e.g.
	// the VolumeSnapshot a Volume restores: only the pool holding it can (Adapter.Pin).
	Source string
}

// Reason is why a pool was filtered out. The scheduler aggregates them into the Unschedulable
// message ("0/10 pools fit: 3 not ready, 7 insufficient capacity").
type Reason string

const (
	ReasonNotReady         Reason = "not ready"
	ReasonUntoleratedTaint Reason = "untolerated taint"
	ReasonSelectorMismatch Reason = "pool selector mismatch"
	ReasonClassUnsupported Reason = "class not offered"
	ReasonInsufficient     Reason = "insufficient capacity"
)

// filter returns "" when the pool can take the object given free capacity, else why not.
// The order is cheapest-first; the first failing check names the reason.
func filter(pool *PoolInfo, obj *ObjectInfo, free int64) Reason {
	switch {
	case !pool.Ready:
		return ReasonNotReady
	case !tolerates(obj.Tolerations, pool.Taints):
		return ReasonUntoleratedTaint
	case !selectorMatches(obj.PoolSelector, pool.Labels):
		return ReasonSelectorMismatch
	}
	if _, ok := pool.Capacity[obj.Class]; !ok {
		return ReasonClassUnsupported
	}
	if free < obj.Amount {
		return ReasonInsufficient
	}
	return ""
}

// score ranks feasible pools: the larger the share of the class capacity still free after
// placing the object, the better. It spreads load evenly across pools of different sizes;
// ties go to the pool with more absolute room, then to the lexically smaller name (stable).
func score(capacity, free, amount int64) float64 {
	if capacity <= 0 {
		return 0
	}
	return float64(free-amount) / float64(capacity)
}

func tolerates(tolerations []commonv1alpha1.Toleration, taints []commonv1alpha1.Taint) bool {
	for _, taint := range taints {
		// Taints only repel at scheduling time with these effects; both do.
		if taint.Effect != commonv1alpha1.TaintEffectNoSchedule && taint.Effect != commonv1alpha1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		for _, tol := range tolerations {
			if toleratesTaint(tol, taint) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return false
		}
	}
	return true
}

// toleratesTaint follows Kubernetes semantics: an empty effect matches all effects; operator
// Exists with an empty key matches every taint; Equal (the default) compares values.
func toleratesTaint(tol commonv1alpha1.Toleration, taint commonv1alpha1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case commonv1alpha1.TolerationOpExists:
		return true
	case commonv1alpha1.TolerationOpEqual, "":
		return tol.Key != "" && tol.Value == taint.Value
	default:
		return false
	}
}

func selectorMatches(selector, poolLabels map[string]string) bool {
	if len(selector) == 0 {
		return true
	}
	return labels.SelectorFromSet(selector).Matches(labels.Set(poolLabels))
}

// unschedulableMessage summarises why no pool fits, most frequent reason first.
func unschedulableMessage(total int, reasons map[Reason]int) string {
	if total == 0 {
		return "0/0 pools: no pool exists"
	}
	type rc struct {
		r Reason
		n int
	}
	list := make([]rc, 0, len(reasons))
	for r, n := range reasons {
		list = append(list, rc{r, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].r < list[j].r
	})
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprintf("%d %s", x.n, x.r)
	}
	return fmt.Sprintf("0/%d pools fit: %s", total, strings.Join(parts, ", "))
}
