package poollifecycle

import (
	corev1 "k8s.io/api/core/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// MachinePoolAdapter: an expired heartbeat makes a MachinePool Offline.
func MachinePoolAdapter() Adapter[*computev1alpha1.MachinePool] {
	return Adapter[*computev1alpha1.MachinePool]{
		Kind: "MachinePool",
		New:  func() *computev1alpha1.MachinePool { return &computev1alpha1.MachinePool{} },
		Ready: func(p *computev1alpha1.MachinePool) (conditions.Condition, bool) {
			return conditions.Get(p.Status.Conditions, conditions.MachinePool, commonv1alpha1.ConditionTypeReady)
		},
		SetReady: func(p *computev1alpha1.MachinePool, c conditions.Condition) {
			p.Status.Conditions, _ = conditions.Set(p.Status.Conditions, conditions.MachinePool, c)
			p.Status.State = pick(c, computev1alpha1.MachinePoolStateReady, computev1alpha1.MachinePoolStateOffline)
		},
	}
}

// VolumePoolAdapter: an expired heartbeat makes a VolumePool Unavailable.
func VolumePoolAdapter() Adapter[*storagev1alpha1.VolumePool] {
	return Adapter[*storagev1alpha1.VolumePool]{
		Kind: "VolumePool",
		New:  func() *storagev1alpha1.VolumePool { return &storagev1alpha1.VolumePool{} },
		Ready: func(p *storagev1alpha1.VolumePool) (conditions.Condition, bool) {
			return conditions.Get(p.Status.Conditions, conditions.VolumePool, commonv1alpha1.ConditionTypeReady)
		},
		SetReady: func(p *storagev1alpha1.VolumePool, c conditions.Condition) {
			p.Status.Conditions, _ = conditions.Set(p.Status.Conditions, conditions.VolumePool, c)
			p.Status.State = pick(c, storagev1alpha1.VolumePoolStateAvailable, storagev1alpha1.VolumePoolStateUnavailable)
		},
	}
}

// BucketPoolAdapter: an expired heartbeat makes a BucketPool Unavailable.
func BucketPoolAdapter() Adapter[*storagev1alpha1.BucketPool] {
	return Adapter[*storagev1alpha1.BucketPool]{
		Kind: "BucketPool",
		New:  func() *storagev1alpha1.BucketPool { return &storagev1alpha1.BucketPool{} },
		Ready: func(p *storagev1alpha1.BucketPool) (conditions.Condition, bool) {
			return conditions.Get(p.Status.Conditions, conditions.BucketPool, commonv1alpha1.ConditionTypeReady)
		},
		SetReady: func(p *storagev1alpha1.BucketPool, c conditions.Condition) {
			p.Status.Conditions, _ = conditions.Set(p.Status.Conditions, conditions.BucketPool, c)
			p.Status.State = pick(c, storagev1alpha1.BucketPoolStateAvailable, storagev1alpha1.BucketPoolStateUnavailable)
		},
	}
}

func pick[S any](c conditions.Condition, online, offline S) S {
	if c.Status == corev1.ConditionTrue {
		return online
	}
	return offline
}
