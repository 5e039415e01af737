package scheduler

import (
	"strings"
	"testing"

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
