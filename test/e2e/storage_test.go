package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

func newVolume(ns, name string) *storagev1alpha1.Volume {
	return &storagev1alpha1.Volume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("50Gi")},
		},
	}
}

func waitVolumeAvailable(t *testing.T, v *storagev1alpha1.Volume) {
	t.Helper()
	eventually(t, "volume "+v.Name+" Available at the root", func(ctx context.Context) (bool, string, error) {
		if err := get(ctx, "root", v); err != nil {
			return false, "", err
		}
		return v.Status.State == storagev1alpha1.VolumeStateAvailable && v.Status.Access != nil,
			"levels:" + describeChain(ctx, "volume", v), nil
	})
}

// deleteAndWaitGone deletes a root object and waits until no level holds it.
func deleteAndWaitGone(t *testing.T, kind string, obj client.Object) {
	t.Helper()
	cp, err := follow(t.Context(), kind, obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := fed.Client("root").Delete(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	waitGoneEverywhere(t, kind, cp)
}

// TestVolumeThroughTheChain: a Volume created at the root becomes Available with the leaf's
// access information, and deleting it removes every level.
func TestVolumeThroughTheChain(t *testing.T) {
	ns := newNamespace(t, "volume")
	v := newVolume(ns, "data")
	if err := fed.Client("root").Create(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	waitVolumeAvailable(t, v)
	cp, err := follow(t.Context(), "volume", v)
	if err != nil || !cp.complete() {
		t.Fatalf("counterparts: %d levels, provider %q, %v", len(cp.objs), cp.leafID, err)
	}
	leaf := cp.objs[len(cp.objs)-1].(*storagev1alpha1.Volume)
	if leaf.Status.Access == nil || leaf.Status.Access.Driver != v.Status.Access.Driver || leaf.Status.Access.Handle != v.Status.Access.Handle {
		t.Errorf("root access %+v differs from the leaf's %+v", v.Status.Access, leaf.Status.Access)
	}
	if pv, err := fed.Providers["leaf"].Volumes.Get(cp.leafID); err != nil || pv.Spec.Resources.StorageBytes != 50<<30 {
		t.Errorf("provider volume %v %v: want 50Gi", pv, err)
	}
	deleteAndWaitGone(t, "volume", v)
	assertNoOrphans(t)
}

// TestBucketThroughTheChain: a Bucket created at the root becomes Available with an endpoint
// and an access Secret at the root holding the leaf's credentials.
func TestBucketThroughTheChain(t *testing.T) {
	ns := newNamespace(t, "bucket")
	b := &storagev1alpha1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "assets"},
		Spec:       storagev1alpha1.BucketSpec{BucketClassRef: &commonv1alpha1.LocalObjectReference{Name: "standard"}},
	}
	if err := fed.Client("root").Create(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bucket Available at the root with access", func(ctx context.Context) (bool, string, error) {
		if err := get(ctx, "root", b); err != nil {
			return false, "", err
		}
		return b.Status.State == storagev1alpha1.BucketStateAvailable && b.Status.Access != nil && b.Status.Access.SecretRef != nil,
			"levels:" + describeChain(ctx, "bucket", b), nil
	})
	cp, err := follow(t.Context(), "bucket", b)
	if err != nil || !cp.complete() {
		t.Fatalf("counterparts: %d levels, provider %q, %v", len(cp.objs), cp.leafID, err)
	}
	pb, err := fed.Providers["leaf"].Buckets.Get(cp.leafID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status.Access.Endpoint != pb.Status.Access.Endpoint {
		t.Errorf("root endpoint %q, provider's %q", b.Status.Access.Endpoint, pb.Status.Access.Endpoint)
	}
	secret := &corev1.Secret{}
	if err := fed.Client("root").Get(t.Context(), client.ObjectKey{Namespace: ns, Name: b.Status.Access.SecretRef.Name}, secret); err != nil {
		t.Fatalf("access secret at the root: %v", err)
	}
	for k, v := range pb.Status.Access.SecretData {
		if string(secret.Data[k]) != string(v) {
			t.Errorf("root access secret key %s = %q, provider's %q", k, secret.Data[k], v)
		}
	}
	deleteAndWaitGone(t, "bucket", b)
	assertNoOrphans(t)
}
