package scheduler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// ReasonWaitingForSource: the object's pin source names no pool yet (e.g. a VolumeSnapshot not
// taken yet, or missing).
const ReasonWaitingForSource = "WaitingForVolumeSnapshot"

// watchPinSources requeues the objects waiting on a pin source when it changes.
func (s *Scheduler[O, P]) watchPinSources(ctx context.Context) error {
	if s.adapter.Pin == nil || s.adapter.PinSource == nil {
		return nil
	}
	inf, err := s.cache.GetInformer(ctx, s.adapter.PinSource)
	if meta.IsNoMatchError(err) {
		// A cluster without the kind (e.g. no VolumeSnapshot CRD) still schedules everything
		// else; an object naming a source waits, saying so, and is retried with the unschedulable.
		s.log.Info("Pin source kind not served; objects that name one wait", "error", err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	onSource := func(obj any) {
		if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		o, ok := obj.(client.Object)
		if !ok {
			return
		}
		s.state.mu.Lock()
		waiters := s.pinWaiters[client.ObjectKeyFromObject(o)]
		keys := make([]types.NamespacedName, 0, len(waiters))
		for k := range waiters {
			keys = append(keys, k)
		}
		s.state.mu.Unlock()
		s.requeue(keys)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: onSource, UpdateFunc: func(_, n any) { onSource(n) }, DeleteFunc: onSource,
	}); err != nil {
		return err
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return ctx.Err()
	}
	return nil
}

// pinned returns the pool the pending object p is pinned to when that pool can take it, else
// the reason and message to report. Lock held; the pin reads only the informer cache.
func (s *Scheduler[O, P]) pinned(ctx context.Context, key types.NamespacedName, p *pendingObject) (*PoolInfo, string, string) {
	src := types.NamespacedName{Namespace: key.Namespace, Name: p.info.Source}
	name, waiting, err := s.adapter.Pin(ctx, s.cache, key.Namespace, p.info.Source)
	if err == nil && waiting == "" && name == "" {
		waiting = fmt.Sprintf("%s names no pool", p.info.Source)
	}
	if err != nil || waiting != "" {
		if s.pinWaiters[src] == nil {
			s.pinWaiters[src] = map[types.NamespacedName]struct{}{}
		}
		s.pinWaiters[src][key] = struct{}{}
		if err != nil {
			waiting = err.Error()
		}
		return nil, ReasonWaitingForSource, "Waiting: " + waiting
	}
	s.forgetPinWaiter(src, key)
	pool := s.state.pools[name]
	if pool == nil {
		return nil, commonv1alpha1.ReasonUnschedulable,
			fmt.Sprintf("Only %sPool %s can take it (it holds %s), and that pool does not exist here", s.adapter.Kind, name, p.info.Source)
	}
	if r := filter(pool, &p.info, s.state.free(pool, p.info.Class)); r != "" {
		return nil, commonv1alpha1.ReasonUnschedulable,
			fmt.Sprintf("Only %sPool %s can take it (it holds %s), and it does not fit: %s", s.adapter.Kind, name, p.info.Source, r)
	}
	return pool, "", ""
}

func (s *Scheduler[O, P]) forgetPinWaiter(src, key types.NamespacedName) {
	if w := s.pinWaiters[src]; w != nil {
		delete(w, key)
		if len(w) == 0 {
			delete(s.pinWaiters, src)
		}
	}
}

// dropPinWaiter forgets a bound or deleted object waiting on source.
func (s *Scheduler[O, P]) dropPinWaiter(key types.NamespacedName, source string) {
	if source == "" {
		return
	}
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	s.forgetPinWaiter(types.NamespacedName{Namespace: key.Namespace, Name: source}, key)
}
