package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
)

// maxDumped bounds how many lagging machines dumpLagging describes in full.
const maxDumped = 8

// dumpLagging logs, for every root Machine of the watch not yet in state at every level, what
// each level holds now (state, conditions, Events, read from the apiservers, not the watch's
// cache), what the watch saw, and whether the leaf provider holds it.
func (w *chainWatch) dumpLagging(b *testing.B, state computev1alpha1.MachineState) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	chains := w.chains()
	var lagging []types.UID
	for uid := range w.levels[0].uids() {
		c := chains[uid]
		if c == nil {
			lagging = append(lagging, uid)
			continue
		}
		for i, u := range c {
			if _, ok := w.levels[i].seen(u, state); !ok {
				lagging = append(lagging, uid)
				break
			}
		}
	}
	slices.SortFunc(lagging, func(a, b types.UID) int {
		return strings.Compare(w.levels[0].name(a), w.levels[0].name(b))
	})
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d root machines not %s at every level:", len(lagging), state)
	for i, uid := range lagging {
		name := w.levels[0].name(uid)
		if i >= maxDumped {
			fmt.Fprintf(&sb, " %s", name)
			continue
		}
		fmt.Fprintf(&sb, "\n- root %s (uid %s); the watch saw (complete chain %v):", name, uid, chains[uid] != nil)
		for lvl, u := range chains[uid] {
			fmt.Fprintf(&sb, " %s=%v", chain[lvl], w.levels[lvl].states(u))
		}
		root := &computev1alpha1.Machine{}
		if err := fed.Client("root").Get(ctx, client.ObjectKey{Namespace: w.levels[0].namespace, Name: name}, root); err != nil {
			fmt.Fprintf(&sb, "\n  root: %v", err)
			continue
		}
		fmt.Fprintf(&sb, "%s", describeChain(ctx, "machine", root))
		cp, err := follow(ctx, "machine", root)
		if err != nil {
			fmt.Fprintf(&sb, "\n  follow: %v", err)
		}
		for lvl, o := range cp.objs {
			lm := o.(*computev1alpha1.Machine)
			fmt.Fprintf(&sb, "\n  %s %s/%s pool %v finalizers %v labels %v", chain[lvl], lm.Namespace, lm.Name, lm.Spec.MachinePoolRef, lm.Finalizers, lm.Labels)
			evs := &corev1.EventList{}
			if err := fed.Client(chain[lvl]).List(ctx, evs, client.InNamespace(lm.Namespace)); err != nil {
				fmt.Fprintf(&sb, "\n    events: %v", err)
				continue
			}
			for _, ev := range evs.Items {
				if ev.InvolvedObject.UID != lm.UID {
					continue
				}
				fmt.Fprintf(&sb, "\n    event %s %s x%d %s: %s", ev.Type, ev.Reason, max(ev.Count, 1), ev.Source.Component+ev.ReportingController, ev.Message)
			}
		}
	}
	b.Log(sb.String())
}

func (l *levelWatch) states(uid types.UID) map[computev1alpha1.MachineState]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[computev1alpha1.MachineState]string{}
	if s := l.objs[uid]; s != nil {
		for st, t := range s.states {
			out[st] = t.Format("15:04:05.000")
		}
		if s.gone {
			out["(deleted)"] = ""
		}
	}
	return out
}
