package controllermanager_test

import (
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// TestRestoreGoesToTheSnapshotsPool: only the pool holding a VolumeSnapshot can restore it, so the
// scheduler places a restoring Volume there (two equal pools would otherwise tie towards "a"), by
// the pool label of the poollet that took the snapshot or, without it (IronCore's volumepoollet),
// by the source Volume's pool; it waits, saying for what, until the snapshot names a pool.
func TestRestoreGoesToTheSnapshotsPool(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := t.Context()
	e.createVolumePool(t, "a", "fast", "100Gi")
	e.createVolumePool(t, "b", "fast", "100Gi")
	create := func(o client.Object) {
		t.Helper()
		o.SetNamespace("default")
		if err := e.client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	volume := func(name, pool, snapshot string) *storagev1alpha1.Volume {
		v := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
		}}
		if pool != "" {
			v.Spec.VolumePoolRef = &commonv1alpha1.LocalObjectReference{Name: pool}
		}
		if snapshot != "" {
			v.Spec.DataSource.VolumeSnapshotRef = &commonv1alpha1.LocalObjectReference{Name: snapshot}
		}
		return v
	}
	snapshot := func(name, volume string, poolLabel string) *storagev1alpha1.VolumeSnapshot {
		s := &storagev1alpha1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: storagev1alpha1.VolumeSnapshotSpec{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: volume}}}
		if poolLabel != "" {
			s.Labels = map[string]string{storagev1alpha1.VolumeSnapshotPoolLabel: poolLabel}
		}
		return s
	}
	waitState := func(name, want string) {
		t.Helper()
		e.waitVolumeState(t, name, func(got string) bool { return got == want }, strconv.Quote(want))
	}

	// By the source Volume's pool (no pool label, as IronCore's volumepoollet leaves it).
	create(volume("source", "b", ""))
	create(snapshot("snap-unlabelled", "source", ""))
	create(volume("restore-by-volume", "", "snap-unlabelled"))
	waitState("restore-by-volume", "bound to b")
	// An ordinary Volume still ties towards a: the pin above was not the tie-break.
	create(volume("plain", "", ""))
	waitState("plain", "bound to a")

	// Waits for a missing snapshot, then follows its pool label.
	create(volume("restore-later", "", "snap-later"))
	waitState("restore-later", "WaitingForVolumeSnapshot: Waiting: VolumeSnapshot snap-later does not exist")
	create(snapshot("snap-later", "source", "b"))
	waitState("restore-later", "bound to b")

	// The pinned pool cannot take it: said so, not placed elsewhere.
	big := volume("restore-too-big", "", "snap-unlabelled")
	big.Spec.Resources[commonv1alpha1.ResourceStorage] = resource.MustParse("200Gi")
	create(big)
	waitState("restore-too-big", "Unschedulable: Only VolumePool b can take it (it holds snap-unlabelled), and it does not fit: insufficient capacity")
}
