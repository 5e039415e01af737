package e2e

import (
	"context"
	"fmt"
	"testing"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// TestVolumeSnapshotThroughTheChain: a VolumeSnapshot created at the root is taken by the leaf
// provider (of the leaf volume the root Volume stands for) and turns Ready at the root; a Volume
// restored from it at the root becomes Available, restored in the provider from that snapshot;
// deleting them empties every level and the provider.
func TestVolumeSnapshotThroughTheChain(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(t, "snapshot")
	src := newVolume(ns, "src")
	if err := fed.Client("root").Create(ctx, src); err != nil {
		t.Fatal(err)
	}
	waitVolumeAvailable(t, src)
	srcCP, err := follow(ctx, "volume", src)
	if err != nil || !srcCP.complete() {
		t.Fatalf("source volume counterparts: %d levels, provider %q, %v", len(srcCP.objs), srcCP.leafID, err)
	}

	snap := &storagev1alpha1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "snap"},
		Spec:       storagev1alpha1.VolumeSnapshotSpec{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "src"}},
	}
	if err := fed.Client("root").Create(ctx, snap); err != nil {
		t.Fatal(err)
	}
	eventually(t, "snapshot Ready at the root", func(ctx context.Context) (bool, string, error) {
		if err := get(ctx, "root", snap); err != nil {
			return false, "", err
		}
		return snap.Status.State == storagev1alpha1.VolumeSnapshotStateReady && snap.Status.SnapshotID != "",
			"levels:" + describeChain(ctx, "snapshot", snap), nil
	})
	cp, err := follow(ctx, "snapshot", snap)
	if err != nil || !cp.complete() {
		t.Fatalf("snapshot counterparts: %d levels, provider %q, %v", len(cp.objs), cp.leafID, err)
	}
	ps, err := fed.Providers["leaf"].Volumes.Snapshots.Get(cp.leafID)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Spec.VolumeId != srcCP.leafID || ps.Status.Size != 50<<30 {
		t.Errorf("provider snapshot of volume %q, %d bytes; want the source's %q, 50Gi", ps.Spec.VolumeId, ps.Status.Size, srcCP.leafID)
	}
	if snap.Status.Size == nil || snap.Status.Size.Value() != 50<<30 {
		t.Errorf("root snapshot size %v, want 50Gi", snap.Status.Size)
	}
	// The leaf provider's event about its snapshot (it names the leaf volume, which only the
	// leaf knows) reaches the root VolumeSnapshot through both brokers and three poollets.
	leafNote := "Snapshot of volume " + srcCP.leafID + " is ready"
	eventually(t, "the leaf provider's Ready event on the root VolumeSnapshot", func(ctx context.Context) (bool, string, error) {
		list := &eventsv1.EventList{}
		if err := fed.Client("root").List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, "", err
		}
		var seen []string
		for _, ev := range list.Items {
			if ev.Regarding.Kind == "VolumeSnapshot" && ev.Regarding.UID == snap.UID {
				if ev.Reason == "Ready" && ev.Note == leafNote {
					return true, "", nil
				}
				seen = append(seen, ev.Reason+": "+ev.Note)
			}
		}
		return false, fmt.Sprintf("events on the snapshot: %q", seen), nil
	})

	restored := newVolume(ns, "restored")
	restored.Spec.DataSource.VolumeSnapshotRef = &commonv1alpha1.LocalObjectReference{Name: "snap"}
	if err := fed.Client("root").Create(ctx, restored); err != nil {
		t.Fatal(err)
	}
	waitVolumeAvailable(t, restored)
	rcp, err := follow(ctx, "volume", restored)
	if err != nil || !rcp.complete() {
		t.Fatalf("restored volume counterparts: %d levels, provider %q, %v", len(rcp.objs), rcp.leafID, err)
	}
	pv, err := fed.Providers["leaf"].Volumes.Get(rcp.leafID)
	if err != nil {
		t.Fatal(err)
	}
	if got := pv.GetSpec().GetVolumeDataSource().GetSnapshotDataSource().GetSnapshotId(); got != cp.leafID {
		t.Errorf("provider volume restored from snapshot %q, want %q", got, cp.leafID)
	}

	deleteAndWaitGone(t, "volume", restored)
	deleteAndWaitGone(t, "snapshot", snap)
	deleteAndWaitGone(t, "volume", src)
	assertNoOrphans(t)
}
