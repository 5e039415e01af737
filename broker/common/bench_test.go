package common

import (
	"context"
	"fmt"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// BenchmarkListSelector10k measures, over one cache of 10,000 brokered
// Machines (fed by a fake client; no cluster needed), how a List by the
// poollet's UID label (served from the UID index) compares with a full
// List and with the scan that decodes every object's IRI labels (the path
// before the index), all in the same run:
//
//	go test ./broker/common/ -run '^$' -bench ListSelector10k
func BenchmarkListSelector10k(b *testing.B) {
	const n = 10000
	objs := make([]client.Object, n)
	for i := range objs {
		objs[i] = brokeredMachine(i, fmt.Sprintf("uid-%d", i))
	}
	s := startFakeStore(b, fakeClient(objs...), nil)
	ctx := context.Background()
	selector := map[string]string{labels.UIDLabel(labels.Machine): "uid-5000"}
	check := func(b *testing.B, got, want int) {
		if got != want {
			b.Fatalf("listed %d machines, want %d", got, want)
		}
	}
	b.Run("full-list", func(b *testing.B) {
		for b.Loop() {
			items, err := s.List(ctx, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			check(b, len(items), n)
		}
	})
	b.Run("uid-selector-index", func(b *testing.B) {
		for b.Loop() {
			items, err := s.List(ctx, "", selector)
			if err != nil {
				b.Fatal(err)
			}
			check(b, len(items), 1)
		}
	})
	b.Run("uid-selector-scan", func(b *testing.B) {
		for b.Loop() {
			var list computev1alpha1.MachineList
			if err := s.D.Cache.List(ctx, &list, client.InNamespace(fakeNamespace)); err != nil {
				b.Fatal(err)
			}
			found := 0
			for i := range list.Items {
				if MatchesLabels(&list.Items[i], selector) {
					found++
				}
			}
			check(b, found, 1)
		}
	})
}
