package common

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// rpcStream stands for the gRPC stream a served RPC's context carries.
type rpcStream struct{ grpc.ServerTransportStream }

func servedCtx() context.Context {
	return grpc.NewContextWithServerTransportStream(context.Background(), rpcStream{})
}

// onWire is resp as a client reads it.
func onWire(t *testing.T, resp *machinev1alpha1.ListMachinesResponse) *machinev1alpha1.ListMachinesResponse {
	t.Helper()
	data, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	got := &machinev1alpha1.ListMachinesResponse{}
	if err := proto.Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	return got
}

// An answer served over gRPC carries the memoised encodings; a client reads the same machines
// a Go caller gets, for every filter, before and after the cache is warm.
func TestAnswerEncoded(t *testing.T) {
	objs := []client.Object{brokeredMachine(0, "uid-0"), brokeredMachine(1, "uid-1"), brokeredMachine(2, "")}
	incomplete := brokeredMachine(3, "uid-3")
	delete(incomplete.Labels, CreatedLabel)
	s := startFakeStore(t, fakeClient(append(objs, incomplete)...), nil)
	filters := map[string]*machinev1alpha1.MachineFilter{
		"all":         {},
		"by id":       {Id: objs[1].GetName()},
		"by uid":      {LabelSelector: map[string]string{labels.UIDLabel(labels.Machine): "uid-0"}},
		"by label":    {LabelSelector: map[string]string{"tier": "bench"}},
		"missing uid": {LabelSelector: map[string]string{labels.UIDLabel(labels.Machine): "uid-9"}},
		"incomplete":  {LabelSelector: map[string]string{labels.UIDLabel(labels.Machine): "uid-3"}},
	}
	want := map[string]int{"all": 3, "by id": 1, "by uid": 1, "by label": 2, "missing uid": 0, "incomplete": 0}
	for round := range 2 { // cold, then from the conversion cache
		for name, f := range filters {
			goResp, wireResp := &machinev1alpha1.ListMachinesResponse{}, &machinev1alpha1.ListMachinesResponse{}
			if err := s.Answer(context.Background(), f, goResp); err != nil {
				t.Fatal(err)
			}
			if err := s.Answer(servedCtx(), f, wireResp); err != nil {
				t.Fatal(err)
			}
			if len(wireResp.Machines) != 0 {
				t.Fatalf("%s: served answer holds decoded messages", name)
			}
			got := onWire(t, wireResp)
			if len(goResp.Machines) != want[name] || !proto.Equal(sorted(got), sorted(goResp)) {
				t.Fatalf("round %d, %s: over gRPC %v, Go caller %v; want %d machines", round, name, got.Machines, goResp.Machines, want[name])
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sorted(r *machinev1alpha1.ListMachinesResponse) *machinev1alpha1.ListMachinesResponse {
	out := proto.Clone(r).(*machinev1alpha1.ListMachinesResponse)
	for i := range out.Machines {
		for j := i + 1; j < len(out.Machines); j++ {
			if out.Machines[j].Metadata.Id < out.Machines[i].Metadata.Id {
				out.Machines[i], out.Machines[j] = out.Machines[j], out.Machines[i]
			}
		}
	}
	return out
}

// The conversion cache holds one entry per object: a new resourceVersion replaces it (and is
// what is answered), a delete drops it.
func TestConversionCacheOneEntryPerObject(t *testing.T) {
	m := brokeredMachine(0, "uid-0")
	c := fakeClient(m)
	s := startFakeStore(t, c, nil)
	ctx := context.Background()
	list := func() *machinev1alpha1.Machine {
		t.Helper()
		items, err := s.List(ctx, "", nil)
		if err != nil || len(items) != 1 {
			t.Fatalf("list: %v, %v", items, err)
		}
		return items[0]
	}
	list()
	for i := range 3 {
		cur := &computev1alpha1.Machine{}
		must(t, c.Get(ctx, client.ObjectKeyFromObject(m), cur))
		cur.Spec.MachineClassRef.Name = fmt.Sprintf("class-%d", i)
		must(t, c.Update(ctx, cur))
		s.WaitCached(ctx, cur)
		if got := list().Spec.Class; got != cur.Spec.MachineClassRef.Name {
			t.Fatalf("after update %d: class %q, want %q", i, got, cur.Spec.MachineClassRef.Name)
		}
		if n := s.conv.Len(); n != 1 {
			t.Fatalf("after update %d: %d cached conversions, want 1", i, n)
		}
	}
	must(t, c.Delete(ctx, m))
	s.WaitGone(ctx, m)
	waitFor(t, func() bool { return s.conv.Len() == 0 }) // the deleted machine's conversion dropped
}

// The UID index finds objects by their poollet UID label whatever bucket they share, and
// follows label changes.
func TestUIDIndex(t *testing.T) {
	var objs []client.Object
	for i := range 3 * uidBuckets { // several objects per bucket
		objs = append(objs, brokeredMachine(i, fmt.Sprintf("uid-%d", i)))
	}
	c := fakeClient(objs...)
	s := startFakeStore(t, c, nil)
	for _, i := range []int{0, 1, uidBuckets, 3*uidBuckets - 1} {
		got, err := s.byUID(fmt.Sprintf("uid-%d", i))
		if err != nil || len(got) != 1 || got[0].Name != objs[i].GetName() {
			t.Fatalf("uid-%d: %v, %v", i, got, err)
		}
	}
	ctx := context.Background()
	cur := &computev1alpha1.Machine{}
	must(t, c.Get(ctx, client.ObjectKeyFromObject(objs[0]), cur))
	cur.Labels[UIDLabel] = "uid-new"
	must(t, c.Update(ctx, cur))
	s.WaitCached(ctx, cur)
	if got, _ := s.byUID("uid-0"); len(got) != 0 {
		t.Fatalf("old uid still finds %d objects", len(got))
	}
	if got, _ := s.byUID("uid-new"); len(got) != 1 {
		t.Fatalf("new uid finds %d objects", len(got))
	}
}

// A conversion whose labels and annotations are its annotations as json.Marshal writes them is
// kept without them and answered with them, encoded from the annotations; one whose annotation
// another writer formatted (escapes, spaces) is kept whole. Both answer what the conversion gives.
func TestConversionCacheLeavesMapsOut(t *testing.T) {
	plain := brokeredMachine(0, "uid-0")
	plain.Annotations[AnnotationsAnnotation] = `{"note":"kept downstream"}`
	escaped := brokeredMachine(1, "uid-1")
	escaped.Annotations[LabelsAnnotation] = `{"tier": "b\u00e9nch", "machinepoollet.ironcore.dev/machine-uid":"uid-1"}`
	bare := brokeredMachine(2, "")
	s := startFakeStore(t, fakeClient(plain, escaped, bare), nil)
	resp := &machinev1alpha1.ListMachinesResponse{}
	must(t, s.Answer(servedCtx(), &machinev1alpha1.MachineFilter{}, resp))
	got := sorted(onWire(t, resp))
	if len(got.Machines) != 3 {
		t.Fatalf("%d machines answered, want 3", len(got.Machines))
	}
	for i, m := range []*computev1alpha1.Machine{plain, escaped, bare} {
		cached := &computev1alpha1.Machine{}
		must(t, s.D.Cache.Get(context.Background(), client.ObjectKeyFromObject(m), cached))
		want, err := s.A.ToIRI(s.Broker, cached)
		must(t, err)
		if !proto.Equal(got.Machines[i], want) {
			t.Errorf("%s: answered %v, converted %v", m.Name, got.Machines[i], want)
		}
		e, ok := s.conv.Get(cached.UID)
		if !ok {
			t.Fatalf("%s: no cached conversion", m.Name)
		}
		split := e.meta >= 0
		if wantSplit := m == plain; split != wantSplit {
			t.Errorf("%s: labels left out of the cached conversion: %v, want %v", m.Name, split, wantSplit)
		}
		if split && len(e.wire) >= proto.Size(want)-len(`uid-0benchkept downstream`) {
			t.Errorf("%s: cached conversion of %d bytes holds the labels or annotations (whole: %d)", m.Name, len(e.wire), proto.Size(want))
		}
	}
}
