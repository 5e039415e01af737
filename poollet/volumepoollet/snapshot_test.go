// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package volumepoollet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/volumepoollet"
	"github.com/ironfed/ironfed/test/poollettest"
)

// TestVolumeSnapshot: a VolumeSnapshot of a pool's Volume waits for the Volume, is taken in the
// runtime, reports Ready with its id and size; a Volume restores it (the runtime gets the
// snapshot as its data source); deleting the snapshot deletes it in the runtime.
func TestVolumeSnapshot(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	ctx := t.Context()
	if err := e.Client.Create(ctx, &storagev1alpha1.VolumeClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}}); err != nil {
		t.Fatal(err)
	}
	o := e.Options("vp")
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return volumepoollet.New(ctx, e.Config, o) })
	vs := e.Provider.VolumeServer()

	// The snapshot first: it waits for its Volume.
	snap := &storagev1alpha1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "snap"},
		Spec:       storagev1alpha1.VolumeSnapshotSpec{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "src"}},
	}
	if err := e.Client.Create(ctx, snap); err != nil {
		t.Fatal(err)
	}
	src := volume("src", nil)
	if err := e.Client.Create(ctx, src); err != nil {
		t.Fatal(err)
	}
	var iriID string
	poollettest.Eventually(t, wait, "snapshot ready", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(snap), snap); err != nil {
			return err
		}
		st := snap.Status
		if st.State != storagev1alpha1.VolumeSnapshotStateReady || !strings.Contains(st.SnapshotID, "://") || st.Size == nil || st.Size.Value() != 1<<30 {
			return fmt.Errorf("status %+v", st)
		}
		if !conditions.IsTrue(st.Conditions, conditions.VolumeSnapshot, core.ConditionRuntimeSynced) {
			return fmt.Errorf("conditions %+v", st.Conditions)
		}
		iriID = st.SnapshotID[strings.Index(st.SnapshotID, "://")+3:]
		return nil
	})
	if snap.Labels[volumepoollet.SnapshotPoolLabel] != "vp" || !contains(snap.Finalizers, volumepoollet.SnapshotFinalizer) {
		t.Fatalf("labels %v, finalizers %v", snap.Labels, snap.Finalizers)
	}
	res, err := vs.ListVolumeSnapshots(ctx, &volumev1alpha1.ListVolumeSnapshotsRequest{Filter: &volumev1alpha1.VolumeSnapshotFilter{Id: iriID}})
	if err != nil || len(res.GetVolumeSnapshots()) != 1 {
		t.Fatalf("ListVolumeSnapshots: %v, %d", err, len(res.GetVolumeSnapshots()))
	}
	if l := res.GetVolumeSnapshots()[0].GetMetadata().GetLabels(); l[labels.VolumeSnapshotUIDLabel] != string(snap.UID) || l[labels.VolumeSnapshotNameLabel] != "snap" {
		t.Fatalf("IRI labels %v", l)
	}

	// A Volume restores it: the runtime's volume names the snapshot as its data source.
	restored := volume("restored", &storagev1alpha1.VolumeDataSource{VolumeSnapshotRef: &commonv1alpha1.LocalObjectReference{Name: "snap"}})
	if err := e.Client.Create(ctx, restored); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "restored volume available", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(restored), restored); err != nil {
			return err
		}
		if restored.Status.State != storagev1alpha1.VolumeStateAvailable {
			return fmt.Errorf("status %+v", restored.Status)
		}
		return nil
	})
	vid := restored.Status.VolumeID[strings.Index(restored.Status.VolumeID, "://")+3:]
	vres, err := vs.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: vid}})
	if err != nil || len(vres.GetVolumes()) != 1 {
		t.Fatalf("ListVolumes: %v, %d", err, len(vres.GetVolumes()))
	}
	if got := vres.GetVolumes()[0].GetSpec().GetVolumeDataSource().GetSnapshotDataSource().GetSnapshotId(); got != iriID {
		t.Fatalf("restored volume's snapshot source = %q, want %q", got, iriID)
	}

	// A Volume restoring a snapshot that does not exist says so.
	orphan := volume("orphan", &storagev1alpha1.VolumeDataSource{VolumeSnapshotRef: &commonv1alpha1.LocalObjectReference{Name: "nope"}})
	if err := e.Client.Create(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "restore waits for its snapshot", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(orphan), orphan); err != nil {
			return err
		}
		c, ok := conditions.Get(orphan.Status.Conditions, conditions.Volume, core.ConditionPrerequisitesMet)
		if !ok || c.Status != corev1.ConditionFalse || c.Reason != volumepoollet.ReasonWaitingForVolumeSnapshot {
			return fmt.Errorf("PrerequisitesMet %+v", c)
		}
		return nil
	})

	if err := e.Client.Delete(ctx, snap); err != nil {
		t.Fatal(err)
	}
	poollettest.Eventually(t, wait, "snapshot gone", func() error {
		return goneEverywhere(ctx, e.Client, snap, func() (int, error) {
			res, err := vs.ListVolumeSnapshots(ctx, &volumev1alpha1.ListVolumeSnapshotsRequest{Filter: &volumev1alpha1.VolumeSnapshotFilter{Id: iriID}})
			return len(res.GetVolumeSnapshots()), err
		})
	})
}

// TestVolumeSnapshotOtherPool: a snapshot of a Volume on another pool is not this poollet's.
func TestVolumeSnapshotOtherPool(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	ctx := t.Context()
	o := e.Options("vp")
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return volumepoollet.New(ctx, e.Config, o) })
	other := volume("elsewhere", nil)
	other.Spec.VolumePoolRef.Name = "other"
	if err := e.Client.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	mine := volume("here", nil)
	if err := e.Client.Create(ctx, mine); err != nil {
		t.Fatal(err)
	}
	theirs := &storagev1alpha1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "theirs"},
		Spec: storagev1alpha1.VolumeSnapshotSpec{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "elsewhere"}}}
	ours := &storagev1alpha1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ours"},
		Spec: storagev1alpha1.VolumeSnapshotSpec{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "here"}}}
	for _, s := range []*storagev1alpha1.VolumeSnapshot{theirs, ours} {
		if err := e.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	poollettest.Eventually(t, wait, "our snapshot pending or ready", func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(ours), ours); err != nil {
			return err
		}
		if ours.Status.State == "" {
			return fmt.Errorf("no state yet")
		}
		return nil
	})
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(theirs), theirs); err != nil {
		t.Fatal(err)
	}
	if len(theirs.Finalizers) != 0 || theirs.Status.State != "" || theirs.Labels[volumepoollet.SnapshotPoolLabel] != "" {
		t.Fatalf("another pool's snapshot was touched: finalizers %v, status %+v, labels %v", theirs.Finalizers, theirs.Status, theirs.Labels)
	}
}

func volume(name string, ds *storagev1alpha1.VolumeDataSource) *storagev1alpha1.Volume {
	v := &storagev1alpha1.Volume{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			VolumePoolRef:  &commonv1alpha1.LocalObjectReference{Name: "vp"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
		},
	}
	if ds != nil {
		v.Spec.DataSource = *ds
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
