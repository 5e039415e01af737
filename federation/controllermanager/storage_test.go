package controllermanager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// TestVolumesAndBucketsByCapacity: volumes take bytes of their class capacity, buckets take one
// instance each (upstream picks a random bucket pool; ironfed does not overfill one).
func TestVolumesAndBucketsByCapacity(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := t.Context()
	e.createVolumePool(t, "ceph", "fast", "10Gi")
	for i := range 3 {
		v := &storagev1alpha1.Volume{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("vol-%d", i)},
			Spec: storagev1alpha1.VolumeSpec{
				VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
				Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("4Gi")},
			},
		}
		if err := e.client.Create(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// 10Gi holds two 4Gi volumes, not three.
	vols := waitDecided(t, func(ctx context.Context) (bound, waiting int, msgs []string) {
		var list storagev1alpha1.VolumeList
		if e.client.List(ctx, &list, client.InNamespace("default")) != nil {
			return 0, 0, nil
		}
		for _, v := range list.Items {
			if v.Spec.VolumePoolRef != nil {
				bound++
			} else if c, ok := conditions.Get(v.Status.Conditions, conditions.Volume, commonv1alpha1.ConditionTypeScheduled); ok && c.Status == corev1.ConditionFalse {
				waiting++
				msgs = append(msgs, c.Message)
			}
		}
		return bound, waiting, msgs
	}, 3)
	if vols.bound != 2 || vols.waiting != 1 || vols.msgs[0] != "0/1 pools fit: 1 insufficient capacity" {
		t.Fatalf("volumes: %d bound, %d waiting (%v); want 2 bound, 1 waiting for capacity", vols.bound, vols.waiting, vols.msgs)
	}

	for _, name := range []string{"s3-a", "s3-b"} {
		bp := &storagev1alpha1.BucketPool{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := e.client.Create(ctx, bp); err != nil {
			t.Fatal(err)
		}
		bp.Status = storagev1alpha1.BucketPoolStatus{
			Conditions:             []storagev1alpha1.BucketPoolCondition{{Type: commonv1alpha1.ConditionTypeReady, Status: corev1.ConditionTrue}},
			AvailableBucketClasses: []corev1.LocalObjectReference{{Name: "standard"}},
			Capacity:               commonv1alpha1.ResourceList{commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeBucketClass, "standard"): resource.MustParse("1")},
		}
		if err := e.client.Status().Update(ctx, bp); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		b := &storagev1alpha1.Bucket{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("bucket-%d", i)},
			Spec:       storagev1alpha1.BucketSpec{BucketClassRef: &commonv1alpha1.LocalObjectReference{Name: "standard"}},
		}
		if err := e.client.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	perPool := map[string]int{}
	buckets := waitDecided(t, func(ctx context.Context) (bound, waiting int, msgs []string) {
		var list storagev1alpha1.BucketList
		if e.client.List(ctx, &list, client.InNamespace("default")) != nil {
			return 0, 0, nil
		}
		clear(perPool)
		for _, b := range list.Items {
			if b.Spec.BucketPoolRef != nil {
				bound++
				perPool[b.Spec.BucketPoolRef.Name]++
			} else if c, ok := conditions.Get(b.Status.Conditions, conditions.Bucket, commonv1alpha1.ConditionTypeScheduled); ok && c.Status == corev1.ConditionFalse {
				waiting++
				msgs = append(msgs, c.Message)
			}
		}
		return bound, waiting, msgs
	}, 3)
	if buckets.bound != 2 || buckets.waiting != 1 || perPool["s3-a"] != 1 || perPool["s3-b"] != 1 {
		t.Fatalf("buckets: %d bound %v, %d waiting; want one per pool and one waiting", buckets.bound, perPool, buckets.waiting)
	}
}

type decided struct {
	bound, waiting int
	msgs           []string
}

func waitDecided(t *testing.T, count func(context.Context) (int, int, []string), total int) decided {
	t.Helper()
	var d decided
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		d.bound, d.waiting, d.msgs = count(ctx)
		return d.bound+d.waiting == total, nil
	}); err != nil {
		t.Fatalf("objects not all decided: %+v", d)
	}
	return d
}
