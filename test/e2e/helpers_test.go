package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/localfed"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/providers/memory"
)

// timeout bounds every wait. Recovery after an apiserver outage is bounded by client-go's reflector
// backoff (0.8 s doubling to 30 s, with jitter), so give it room.
const timeout = 3 * time.Minute

// kinds are what a test can follow down the chain.
var kinds = map[string]struct {
	list     func() client.ObjectList
	iriLabel string
	leafIDs  func(p *memory.Provider, uid string) ([]string, error)
}{
	"machine": {func() client.ObjectList { return &computev1alpha1.MachineList{} }, labels.MachineUIDLabel, func(p *memory.Provider, uid string) ([]string, error) {
		l, err := p.Machines.List(memory.Filter{Labels: map[string]string{labels.MachineUIDLabel: uid}})
		ids := make([]string, 0, len(l))
		for _, o := range l {
			ids = append(ids, o.Metadata.Id)
		}
		return ids, err
	}},
	"volume": {func() client.ObjectList { return &storagev1alpha1.VolumeList{} }, labels.VolumeUIDLabel, func(p *memory.Provider, uid string) ([]string, error) {
		l, err := p.Volumes.List(memory.Filter{Labels: map[string]string{labels.VolumeUIDLabel: uid}})
		ids := make([]string, 0, len(l))
		for _, o := range l {
			ids = append(ids, o.Metadata.Id)
		}
		return ids, err
	}},
	"snapshot": {func() client.ObjectList { return &storagev1alpha1.VolumeSnapshotList{} }, labels.VolumeSnapshotUIDLabel, func(p *memory.Provider, uid string) ([]string, error) {
		l, err := p.Volumes.Snapshots.List(memory.Filter{Labels: map[string]string{labels.VolumeSnapshotUIDLabel: uid}})
		ids := make([]string, 0, len(l))
		for _, o := range l {
			ids = append(ids, o.Metadata.Id)
		}
		return ids, err
	}},
	"bucket": {func() client.ObjectList { return &storagev1alpha1.BucketList{} }, labels.BucketUIDLabel, func(p *memory.Provider, uid string) ([]string, error) {
		l, err := p.Buckets.List(memory.Filter{Labels: map[string]string{labels.BucketUIDLabel: uid}})
		ids := make([]string, 0, len(l))
		for _, o := range l {
			ids = append(ids, o.Metadata.Id)
		}
		return ids, err
	}},
}

// counterparts follows a root object down the chain: its counterpart in every lower cluster
// (found by the broker's UID label) and the id of the provider's object at the leaf. It fails
// on duplicates and stops at the first level without a counterpart.
type counterparts struct {
	objs   []client.Object // root first; shorter than the chain while not yet created
	leafID string
}

func follow(ctx context.Context, kind string, root client.Object) (counterparts, error) {
	k := kinds[kind]
	cp := counterparts{objs: []client.Object{root}}
	for i := 1; i < len(chain); i++ {
		prev := cp.objs[i-1]
		list := k.list()
		if err := fed.Client(chain[i]).List(ctx, list, client.InNamespace(localfed.JoinNamespace(chain[i-1])),
			client.MatchingLabels{common.UIDLabel: string(prev.GetUID())}); err != nil {
			return cp, err
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return cp, err
		}
		switch len(items) {
		case 0:
			return cp, nil
		case 1:
			cp.objs = append(cp.objs, items[0].(client.Object))
		default:
			return cp, fmt.Errorf("%w: %d %ss in %s stand for %s/%s", errDuplicate, len(items), kind, chain[i], root.GetNamespace(), root.GetName())
		}
	}
	ids, err := k.leafIDs(fed.Providers[chain[len(chain)-1]], string(cp.objs[len(cp.objs)-1].GetUID()))
	switch {
	case err != nil:
		return cp, err
	case len(ids) > 1:
		return cp, fmt.Errorf("%w: %d provider %ss stand for %s/%s", errDuplicate, len(ids), kind, root.GetNamespace(), root.GetName())
	case len(ids) == 1:
		cp.leafID = ids[0]
	}
	return cp, nil
}

// complete says whether every level and the provider hold the object.
func (c counterparts) complete() bool { return len(c.objs) == len(chain) && c.leafID != "" }

// errDuplicate: two objects stand for one object above them. Never transient: eventually fails at once.
var errDuplicate = errors.New("duplicates")

// eventually polls cond until it holds; on timeout it fails with cond's last explanation and
// its last error. Errors are retried (apiservers restart in some tests), except duplicates.
func eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, string, error)) {
	t.Helper()
	var why, lastErr string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, w, err := cond(ctx)
		if errors.Is(err, errDuplicate) {
			return false, err
		}
		if err != nil {
			// Keep real explanations, not the poll's own deadline (a client's rate limiter
			// refuses to wait past it before the context ends).
			if !nearDeadline(ctx) {
				lastErr = err.Error()
			}
			return false, nil
		}
		why, lastErr = w, ""
		return ok, nil
	})
	if errors.Is(err, errDuplicate) {
		t.Fatalf("%s: %v", what, err)
	}
	if err != nil {
		if lastErr != "" {
			why += "; last error: " + lastErr
		}
		why += dumpGoroutines(t)
		t.Fatalf("%s: not within %s; last: %s", what, timeout, why)
	}
}

// dumpGoroutines writes every goroutine of the test process (the federation's components run in
// it) beside the components' logs: a federation that stops converging without an error shows
// there where its workers wait.
func dumpGoroutines(t testing.TB) string {
	path := filepath.Join(e2eDir, fmt.Sprintf("goroutines-%s-%s.txt", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().Format("150405")))
	f, err := os.Create(path)
	if err != nil {
		return "; goroutines not written: " + err.Error()
	}
	defer f.Close()
	if err := pprof.Lookup("goroutine").WriteTo(f, 2); err != nil {
		return "; goroutines not written: " + err.Error()
	}
	return "; goroutines in " + path
}

func nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && time.Until(d) < 5*time.Second)
}

// newNamespace creates a namespace at the root for one test.
func newNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := fed.Client("root").Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func get(ctx context.Context, cluster string, obj client.Object) error {
	return fed.Client(cluster).Get(ctx, client.ObjectKeyFromObject(obj), obj)
}

// waitGoneEverywhere waits until obj and all its counterparts are gone, at every level and in
// the provider.
func waitGoneEverywhere(t testing.TB, kind string, cp counterparts) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s %s gone at every level", kind, cp.objs[0].GetName()), func(ctx context.Context) (bool, string, error) {
		for i, o := range cp.objs {
			probe := o.DeepCopyObject().(client.Object)
			err := get(ctx, chain[i], probe)
			if err == nil {
				return false, fmt.Sprintf("still in %s as %s (deleting since %v)", chain[i], o.GetName(), probe.GetDeletionTimestamp()), nil
			}
			if client.IgnoreNotFound(err) != nil {
				return false, "", err
			}
		}
		if cp.leafID == "" {
			return true, "", nil
		}
		ids, err := kinds[kind].leafIDs(fed.Providers[chain[len(chain)-1]], string(cp.objs[len(cp.objs)-1].GetUID()))
		if err != nil || len(ids) > 0 {
			return false, fmt.Sprintf("still in the provider: %v", ids), err
		}
		return true, "", nil
	})
}

// assertNoOrphans checks every joined namespace of the chain: each object a broker made stands
// for a live object one level up (UID label), or is owned by such an object (connection
// volumes, network interfaces, secrets), and every provider object stands for a leaf object.
func assertNoOrphans(t testing.TB) {
	t.Helper()
	eventually(t, "no orphans at any level", func(ctx context.Context) (bool, string, error) {
		var orphans []string
		for i := 1; i < len(chain); i++ {
			up, down, ns := fed.Client(chain[i-1]), fed.Client(chain[i]), localfed.JoinNamespace(chain[i-1])
			for _, list := range []client.ObjectList{&computev1alpha1.MachineList{}, &storagev1alpha1.VolumeList{}, &storagev1alpha1.VolumeSnapshotList{}, &storagev1alpha1.BucketList{},
				&networkingv1alpha1.NetworkInterfaceList{}, &corev1.SecretList{}} {
				if err := down.List(ctx, list, client.InNamespace(ns), client.HasLabels{common.ManagedByLabel}); err != nil {
					return false, "", err
				}
				items, _ := apimeta.ExtractList(list)
				upList := list.DeepCopyObject().(client.ObjectList)
				if err := up.List(ctx, upList); err != nil {
					return false, "", err
				}
				upItems, _ := apimeta.ExtractList(upList)
				live := map[types.UID]bool{}
				for _, u := range upItems {
					live[u.(client.Object).GetUID()] = true
				}
				inNS := map[types.UID]bool{}
				for _, o := range items {
					inNS[o.(client.Object).GetUID()] = true
				}
				for _, it := range items {
					o := it.(client.Object)
					if uid := o.GetLabels()[common.UIDLabel]; uid != "" && live[types.UID(uid)] {
						continue
					}
					owned := false
					for _, ref := range o.GetOwnerReferences() {
						owned = owned || ref.UID != "" && ownerLive(ctx, down, ns, ref)
					}
					if !owned {
						orphans = append(orphans, fmt.Sprintf("%s %T %s", chain[i], o, o.GetName()))
					}
				}
			}
		}
		leaf := chain[len(chain)-1]
		for kind, k := range kinds {
			list := k.list()
			if err := fed.Client(leaf).List(ctx, list); err != nil {
				return false, "", err
			}
			items, _ := apimeta.ExtractList(list)
			live := map[string]bool{}
			for _, it := range items {
				live[string(it.(client.Object).GetUID())] = true
			}
			for _, id := range providerObjects(kind) {
				if !live[id.uid] {
					orphans = append(orphans, fmt.Sprintf("provider %s %s", kind, id.id))
				}
			}
		}
		return len(orphans) == 0, "orphans: " + strings.Join(orphans, ", "), nil
	})
}

func ownerLive(ctx context.Context, c client.Client, ns string, ref metav1.OwnerReference) bool {
	var obj client.Object
	switch ref.Kind {
	case "Machine":
		obj = &computev1alpha1.Machine{}
	case "Volume":
		obj = &storagev1alpha1.Volume{}
	case "Bucket":
		obj = &storagev1alpha1.Bucket{}
	default:
		return false
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, obj); err != nil {
		return false
	}
	return obj.GetUID() == ref.UID && obj.GetDeletionTimestamp() == nil
}

type providerObject struct{ id, uid string }

func providerObjects(kind string) []providerObject {
	p := fed.Providers[chain[len(chain)-1]]
	var out []providerObject
	switch kind {
	case "machine":
		l, _ := p.Machines.List(memory.Filter{})
		for _, o := range l {
			out = append(out, providerObject{o.Metadata.Id, o.Metadata.Labels[labels.MachineUIDLabel]})
		}
	case "volume":
		l, _ := p.Volumes.List(memory.Filter{})
		for _, o := range l {
			out = append(out, providerObject{o.Metadata.Id, o.Metadata.Labels[labels.VolumeUIDLabel]})
		}
	case "snapshot":
		l, _ := p.Volumes.Snapshots.List(memory.Filter{})
		for _, o := range l {
			out = append(out, providerObject{o.Metadata.Id, o.Metadata.Labels[labels.VolumeSnapshotUIDLabel]})
		}
	case "bucket":
		l, _ := p.Buckets.List(memory.Filter{})
		for _, o := range l {
			out = append(out, providerObject{o.Metadata.Id, o.Metadata.Labels[labels.BucketUIDLabel]})
		}
	}
	return out
}

// describeMachineChain says, for failure messages, what every level holds for a root Machine.
func describeMachineChain(ctx context.Context, m *computev1alpha1.Machine) string {
	cp, err := follow(ctx, "machine", m)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for i, o := range cp.objs {
		lm := o.(*computev1alpha1.Machine)
		fmt.Fprintf(&b, "\n  %s %s: state %q rv %s", chain[i], lm.Name, lm.Status.State, lm.ResourceVersion)
		if lm.DeletionTimestamp != nil {
			fmt.Fprintf(&b, ", deleting since %s, finalizers %v", lm.DeletionTimestamp.Format(time.RFC3339), lm.Finalizers)
		}
		for _, c := range lm.Status.Conditions {
			fmt.Fprintf(&b, "\n    %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
		}
		if i+1 < len(chain) {
			b.WriteString(brokerView(ctx, chain[i], chain[i+1], lm))
		}
	}
	return b.String()
}

// brokerView is what the machine broker from cluster to child answers over the IRI for m: the
// poollet of m acts on that answer, which can differ from what child holds.
func brokerView(ctx context.Context, cluster, child string, m *computev1alpha1.Machine) string {
	conn, err := remote.Dial(ctx, "unix://"+fed.BrokerSocket(cluster, child, "machine"))
	if err != nil {
		return "\n    broker: " + err.Error()
	}
	defer func() { _ = conn.Close() }()
	rt, err := remote.NewMachineRuntime(ctx, conn)
	if err != nil {
		return "\n    broker: " + err.Error()
	}
	resp, err := rt.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{
		LabelSelector: map[string]string{labels.MachineUIDLabel: string(m.UID)}}})
	if err != nil {
		return "\n    broker: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n    broker %s→%s reports %d machines", cluster, child, len(resp.GetMachines()))
	for _, x := range resp.GetMachines() {
		fmt.Fprintf(&b, "; %s deletedAt %d", x.GetMetadata().GetId(), x.GetMetadata().GetDeletedAt())
	}
	return b.String()
}

// describeChain says, for failure messages, what every level and the provider hold for a root
// object: names and statuses.
func describeChain(ctx context.Context, kind string, root client.Object) string {
	cp, err := follow(ctx, kind, root)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for i, o := range cp.objs {
		raw, _ := json.Marshal(o)
		var m struct {
			Status json.RawMessage `json:"status"`
		}
		_ = json.Unmarshal(raw, &m)
		fmt.Fprintf(&b, "\n  %s %s rv %s: %s", chain[i], o.GetName(), o.GetResourceVersion(), m.Status)
	}
	fmt.Fprintf(&b, "\n  provider id %q", cp.leafID)
	return b.String()
}
