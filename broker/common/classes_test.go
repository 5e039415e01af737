// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package common

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// ReadPool counts pools as IronCore's poollets leave them: a volume pool by its state Available,
// a bucket pool announcing classes only (IronCore's bucketpoollet writes neither state nor Ready).
func TestReadPoolOfIronCorePoollets(t *testing.T) {
	classes := []corev1.LocalObjectReference{{Name: "standard"}}
	for _, c := range []struct {
		what string
		pool client.Object
		want bool
	}{
		{"volume pool, state Available", &storagev1alpha1.VolumePool{Status: storagev1alpha1.VolumePoolStatus{State: storagev1alpha1.VolumePoolStateAvailable, AvailableVolumeClasses: classes}}, true},
		{"volume pool, classes only", &storagev1alpha1.VolumePool{Status: storagev1alpha1.VolumePoolStatus{AvailableVolumeClasses: classes}}, false},
		{"bucket pool, classes only", &storagev1alpha1.BucketPool{Status: storagev1alpha1.BucketPoolStatus{AvailableBucketClasses: classes}}, true},
		{"bucket pool, nothing announced", &storagev1alpha1.BucketPool{}, false},
		{"bucket pool, Ready=False decides", &storagev1alpha1.BucketPool{Status: storagev1alpha1.BucketPoolStatus{AvailableBucketClasses: classes,
			Conditions: []storagev1alpha1.BucketPoolCondition{{Type: "Ready", Status: corev1.ConditionFalse}}}}, false},
		{"bucket pool, state Unavailable decides", &storagev1alpha1.BucketPool{Status: storagev1alpha1.BucketPoolStatus{AvailableBucketClasses: classes, State: "Unavailable"}}, false},
	} {
		if got := ReadPool(c.pool); got.Ready != c.want {
			t.Errorf("%s: Ready %v (%s), want %v", c.what, got.Ready, got.NotReady, c.want)
		}
	}
}
