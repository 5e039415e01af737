package scheduler

import (
	"math"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// Regression (probe): a Volume of 2^63-1 bytes was scheduled and overflowed capacity sums below.
func TestVolumeSizeBounds(t *testing.T) {
	for _, tc := range []struct {
		size, wantErr string
	}{
		{"1Gi", ""},
		{"1Pi", ""},
		{"0", "must be a positive size"},
		{"1025Ti", "exceeds the largest volume size, 1Pi"},
		{"9223372036854775807", "exceeds the largest volume size, 1Pi"},
	} {
		v := &storagev1alpha1.Volume{Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse(tc.size)},
		}}
		info, _, err := VolumeAdapter().ObjectInfo(v)
		switch {
		case tc.wantErr == "" && (err != nil || info.Amount != v.Spec.Resources.Storage().Value()):
			t.Errorf("%s: amount %d, error %v", tc.size, info.Amount, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.size, err, tc.wantErr)
		}
	}
}

// A BucketPool as IronCore's bucketpoollet leaves it (classes only) is schedulable without bound,
// as IronCore's scheduler treats it; what ironfed's poollets report still decides.
func TestBucketPoolsOfIronCorePoollets(t *testing.T) {
	classes := []corev1.LocalObjectReference{{Name: "std"}}
	count := commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeBucketClass, "std")
	notReady := []storagev1alpha1.BucketPoolCondition{{Type: commonv1alpha1.ConditionTypeReady, Status: corev1.ConditionUnknown}}
	for _, tc := range []struct {
		name     string
		status   storagev1alpha1.BucketPoolStatus
		ready    bool
		capacity int64
	}{
		{"IronCore's: classes only", storagev1alpha1.BucketPoolStatus{AvailableBucketClasses: classes}, true, math.MaxInt64},
		{"IronCore's, lease lapsed (Ready=Unknown)", storagev1alpha1.BucketPoolStatus{AvailableBucketClasses: classes, Conditions: notReady}, false, math.MaxInt64},
		{"ironfed's, Available", storagev1alpha1.BucketPoolStatus{State: storagev1alpha1.BucketPoolStateAvailable, AvailableBucketClasses: classes,
			Capacity: commonv1alpha1.ResourceList{count: resource.MustParse("10")}}, true, 10},
		{"ironfed's, Unavailable", storagev1alpha1.BucketPoolStatus{State: storagev1alpha1.BucketPoolStateUnavailable, AvailableBucketClasses: classes,
			Capacity: commonv1alpha1.ResourceList{count: resource.MustParse("10")}}, false, 10},
	} {
		info := BucketAdapter().PoolInfo(&storagev1alpha1.BucketPool{Status: tc.status})
		if info.Ready != tc.ready || info.Capacity["std"] != tc.capacity {
			t.Errorf("%s: ready %v capacity %d, want %v %d", tc.name, info.Ready, info.Capacity["std"], tc.ready, tc.capacity)
		}
	}
}
