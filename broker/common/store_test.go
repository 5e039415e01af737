package common

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// The fast tier: the generic store over a fake client, no cluster.

func smallClass() *computev1alpha1.MachineClass {
	return &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: "small"}}
}

func createFuncs(class string) CreateFuncs[*computev1alpha1.Machine] {
	return CreateFuncs[*computev1alpha1.Machine]{Class: class, Build: func(_ string, om metav1.ObjectMeta) (*computev1alpha1.Machine, error) {
		m := &computev1alpha1.Machine{ObjectMeta: om}
		m.Spec.MachineClassRef.Name = class
		return m, nil
	}}
}

func TestStoreCreate(t *testing.T) {
	for name, tc := range map[string]struct {
		md      *metav1alpha1.ObjectMetadata
		class   string
		code    codes.Code
		message string
	}{
		"created":            {md: &metav1alpha1.ObjectMetadata{Labels: map[string]string{"a": "1"}}, class: "small"},
		"id set by caller":   {md: &metav1alpha1.ObjectMetadata{Id: "x"}, class: "small", code: codes.InvalidArgument, message: "runtime assigns ids"},
		"missing class":      {class: "", code: codes.InvalidArgument, message: "machine.spec.class is required; supported machine classes: small"},
		"unknown class":      {class: "huge", code: codes.InvalidArgument, message: `machine class "huge" is not supported; supported machine classes: small`},
		"invalid uid label":  {md: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.MachineUIDLabel: "not a label value!"}}, class: "small", code: codes.InvalidArgument, message: "not a valid label value"},
		"class exists, pool": {md: &metav1alpha1.ObjectMetadata{}, class: "small"},
	} {
		t.Run(name, func(t *testing.T) {
			s := startFakeStore(t, fakeClient(smallClass()), nil)
			got, created, err := s.Create(context.Background(), tc.md, createFuncs(tc.class))
			if status.Code(err) != tc.code || (tc.message != "" && !strings.Contains(err.Error(), tc.message)) {
				t.Fatalf("create: %v; want %v with %q", err, tc.code, tc.message)
			}
			if tc.code != codes.OK {
				return
			}
			if !created || !ValidID(got.Metadata.Id) {
				t.Fatalf("create: created=%v id=%q", created, got.Metadata.Id)
			}
			// Read-your-writes: the list right after the create has it.
			l, err := s.List(context.Background(), got.Metadata.Id, nil)
			if err != nil || len(l) != 1 {
				t.Fatalf("list after create: %v %v", l, err)
			}
		})
	}
}

// Concurrent creates with one poollet UID make one object, found again
// through the UID index by later retries and by a UID label selector.
func TestStoreCreateIdempotent(t *testing.T) {
	c := fakeClient(smallClass())
	s := startFakeStore(t, c, nil)
	ctx := context.Background()
	md := func() *metav1alpha1.ObjectMetadata {
		return &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.MachineUIDLabel: "u1"}}
	}
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			got, _, err := s.Create(ctx, md(), createFuncs("small"))
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			ids[i] = got.Metadata.Id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("ids %v; want one", ids)
		}
	}
	var list computev1alpha1.MachineList
	if err := c.List(ctx, &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("%d machines downstream (%v); want 1", len(list.Items), err)
	}
	l, err := s.List(ctx, "", map[string]string{labels.MachineUIDLabel: "u1"})
	if err != nil || len(l) != 1 || l[0].Metadata.Id != ids[0] {
		t.Fatalf("list by uid label: %v %v", l, err)
	}
	if l, _ := s.List(ctx, "", map[string]string{labels.MachineUIDLabel: "u2"}); len(l) != 0 {
		t.Fatalf("list by another uid: %v", l)
	}
}

// The sweeper deletes incomplete objects of this broker older than the
// grace period, by the injected clock: no sleeping.
func TestStoreSweep(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	incomplete := func(name, broker string) *computev1alpha1.Machine {
		m := brokeredMachine(0, "")
		m.Name, m.Labels = name, map[string]string{ManagedByLabel: broker}
		m.CreationTimestamp = metav1.NewTime(created)
		return m
	}
	complete := brokeredMachine(7, "")
	complete.CreationTimestamp = metav1.NewTime(created)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a1", Namespace: fakeNamespace, Labels: map[string]string{ManagedByLabel: "machinebroker"}}}
	mine := incomplete("a1", "machinebroker")
	mine.Annotations["sub"] = "a1"
	c := fakeClient(mine, incomplete("b1", "otherbroker"), complete, secret)
	clk := clocktesting.NewFakePassiveClock(created.Add(time.Minute))
	spec := testSpec()
	spec.Adapter.Subs = func(m *computev1alpha1.Machine) []client.Object {
		if n := m.Annotations["sub"]; n != "" {
			return []client.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: m.Namespace}}}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := DefaultOptions("machine")
	opts.Namespace, opts.Clock = fakeNamespace, clk
	s, err := StartStore(ctx, spec, opts, DownstreamOptions{Client: c, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	grace := 5 * time.Minute
	for _, step := range []struct {
		at    time.Duration
		swept int
	}{{time.Minute, 0}, {grace - time.Second, 0}, {grace + time.Second, 1}, {grace + time.Hour, 0}} {
		clk.SetTime(created.Add(step.at))
		n, err := s.SweepIncomplete(ctx, grace)
		if err != nil || n != step.swept {
			t.Fatalf("sweep at +%s: swept %d (%v); want %d", step.at, n, err, step.swept)
		}
		if n > 0 {
			s.WaitGone(ctx, mine)
		}
	}
	for _, o := range []client.Object{mine, secret} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object)); err == nil {
			t.Errorf("%T %s survived the sweep", o, o.GetName())
		}
	}
	for _, name := range []string{"b1", complete.Name} {
		if err := c.Get(ctx, client.ObjectKey{Namespace: fakeNamespace, Name: name}, &computev1alpha1.Machine{}); err != nil {
			t.Errorf("machine %s was swept: %v", name, err)
		}
	}
}
