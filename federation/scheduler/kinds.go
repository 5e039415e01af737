package scheduler

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// The three kinds differ only in field names; each adapter below maps them onto the generic core.

// MachineAdapter schedules Machines onto MachinePools by class instance count.
func MachineAdapter() Adapter[*computev1alpha1.Machine, *computev1alpha1.MachinePool] {
	return Adapter[*computev1alpha1.Machine, *computev1alpha1.MachinePool]{
		Kind:      "Machine",
		NewObject: func() *computev1alpha1.Machine { return &computev1alpha1.Machine{} },
		NewPool:   func() *computev1alpha1.MachinePool { return &computev1alpha1.MachinePool{} },
		ObjectInfo: func(m *computev1alpha1.Machine) (ObjectInfo, string, error) {
			info := ObjectInfo{Class: m.Spec.MachineClassRef.Name, Amount: 1, PoolSelector: m.Spec.MachinePoolSelector, Tolerations: m.Spec.Tolerations}
			return info, refName(m.Spec.MachinePoolRef), nil
		},
		PoolInfo: func(p *computev1alpha1.MachinePool) PoolInfo {
			return poolInfo(p.ObjectMeta, p.Spec.Taints, ready(p.Status.Conditions, conditions.MachinePool),
				p.Status.AvailableMachineClasses, p.Status.Capacity, commonv1alpha1.ClassTypeMachineClass)
		},
		PoolRefField: "machinePoolRef",
		ScheduledCondition: func(m *computev1alpha1.Machine) (corev1.ConditionStatus, string, string, bool) {
			return scheduledCondition(m.Status.Conditions, conditions.Machine)
		},
		SetScheduledCondition: func(m *computev1alpha1.Machine, status corev1.ConditionStatus, reason, message string) {
			m.Status.Conditions = setScheduledCondition(m.Status.Conditions, conditions.Machine, status, reason, message)
		},
	}
}

// VolumeAdapter schedules Volumes onto VolumePools by bytes of class capacity.
func VolumeAdapter() Adapter[*storagev1alpha1.Volume, *storagev1alpha1.VolumePool] {
	return Adapter[*storagev1alpha1.Volume, *storagev1alpha1.VolumePool]{
		Kind:      "Volume",
		NewObject: func() *storagev1alpha1.Volume { return &storagev1alpha1.Volume{} },
		NewPool:   func() *storagev1alpha1.VolumePool { return &storagev1alpha1.VolumePool{} },
		ObjectInfo: func(v *storagev1alpha1.Volume) (ObjectInfo, string, error) {
			info := ObjectInfo{Class: refName(v.Spec.VolumeClassRef), PoolSelector: v.Spec.VolumePoolSelector, Tolerations: v.Spec.Tolerations,
				Source: refName(v.Spec.DataSource.VolumeSnapshotRef)}
			size, ok := v.Spec.Resources[commonv1alpha1.ResourceStorage]
			if info.Class != "" && (!ok || size.Sign() <= 0) {
				return info, refName(v.Spec.VolumePoolRef), fmt.Errorf("spec.resources.storage must be a positive size to choose a pool")
			}
			if size.CmpInt64(storagev1alpha1.MaxVolumeBytes) > 0 {
				return info, refName(v.Spec.VolumePoolRef), fmt.Errorf("spec.resources.storage %s exceeds the largest volume size, %s", size.String(), resource.NewQuantity(storagev1alpha1.MaxVolumeBytes, resource.BinarySI))
			}
			info.Amount = size.Value()
			return info, refName(v.Spec.VolumePoolRef), nil
		},
		PoolInfo: func(p *storagev1alpha1.VolumePool) PoolInfo {
			return poolInfo(p.ObjectMeta, p.Spec.Taints, storageReady(p.Status.Conditions, conditions.VolumePool, p.Status.State == storagev1alpha1.VolumePoolStateAvailable),
				p.Status.AvailableVolumeClasses, p.Status.Capacity, commonv1alpha1.ClassTypeVolumeClass)
		},
		PoolRefField: "volumePoolRef",
		Pin:          snapshotPool,
		PinSource:    &storagev1alpha1.VolumeSnapshot{},
		ScheduledCondition: func(v *storagev1alpha1.Volume) (corev1.ConditionStatus, string, string, bool) {
			return scheduledCondition(v.Status.Conditions, conditions.Volume)
		},
		SetScheduledCondition: func(v *storagev1alpha1.Volume, status corev1.ConditionStatus, reason, message string) {
			v.Status.Conditions = setScheduledCondition(v.Status.Conditions, conditions.Volume, status, reason, message)
		},
	}
}

// BucketAdapter schedules Buckets onto BucketPools by class instance count (upstream picks a
// random pool; ironfed counts capacity like for machines).
func BucketAdapter() Adapter[*storagev1alpha1.Bucket, *storagev1alpha1.BucketPool] {
	return Adapter[*storagev1alpha1.Bucket, *storagev1alpha1.BucketPool]{
		Kind:      "Bucket",
		NewObject: func() *storagev1alpha1.Bucket { return &storagev1alpha1.Bucket{} },
		NewPool:   func() *storagev1alpha1.BucketPool { return &storagev1alpha1.BucketPool{} },
		ObjectInfo: func(b *storagev1alpha1.Bucket) (ObjectInfo, string, error) {
			info := ObjectInfo{Class: refName(b.Spec.BucketClassRef), Amount: 1, PoolSelector: b.Spec.BucketPoolSelector, Tolerations: b.Spec.Tolerations}
			return info, refName(b.Spec.BucketPoolRef), nil
		},
		PoolInfo:     bucketPoolInfo,
		PoolRefField: "bucketPoolRef",
		ScheduledCondition: func(b *storagev1alpha1.Bucket) (corev1.ConditionStatus, string, string, bool) {
			return scheduledCondition(b.Status.Conditions, conditions.Bucket)
		},
		SetScheduledCondition: func(b *storagev1alpha1.Bucket, status corev1.ConditionStatus, reason, message string) {
			b.Status.Conditions = setScheduledCondition(b.Status.Conditions, conditions.Bucket, status, reason, message)
		},
		Classless: "The Bucket has no bucketClassRef, so ironfed neither schedules nor provisions it " +
			"(an external controller may): recreate it with a bucketClassRef (the class cannot be added later)",
	}
}

func ready[C any](conds []C, f conditions.Accessor[C]) bool {
	return conditions.IsTrue(conds, f, commonv1alpha1.ConditionTypeReady)
}

// storageReady is ready for volume and bucket pools: IronCore's poollets set no Ready condition on
// them, only the state Available, and the heartbeat monitor adds Ready=Unknown once their Lease
// lapses (Ready=True when it resumes). So a pool without a Ready condition is ready when Available.
func storageReady[C any](conds []C, f conditions.Accessor[C], available bool) bool {
	if _, ok := conditions.Get(conds, f, commonv1alpha1.ConditionTypeReady); !ok {
		return available
	}
	return ready(conds, f)
}

// bucketPoolInfo: IronCore's bucketpoollet announces classes but writes neither a state, a Ready
// condition nor a capacity, and IronCore's bucket scheduler needs none of them (classes, taints,
// not deleting). Such a pool is ready and unbounded here too; a state or Ready condition, which
// ironfed's poollets always write, still decides, and so does a reported capacity.
func bucketPoolInfo(p *storagev1alpha1.BucketPool) PoolInfo {
	state := p.Status.State
	info := poolInfo(p.ObjectMeta, p.Spec.Taints, storageReady(p.Status.Conditions, conditions.BucketPool, state == storagev1alpha1.BucketPoolStateAvailable || state == ""),
		p.Status.AvailableBucketClasses, p.Status.Capacity, commonv1alpha1.ClassTypeBucketClass)
	if len(p.Status.Capacity) == 0 {
		for class := range info.Capacity {
			info.Capacity[class] = math.MaxInt64
		}
	}
	return info
}

func scheduledCondition[C any](conds []C, f conditions.Accessor[C]) (corev1.ConditionStatus, string, string, bool) {
	c, ok := conditions.Get(conds, f, commonv1alpha1.ConditionTypeScheduled)
	return c.Status, c.Reason, c.Message, ok
}

func setScheduledCondition[C any](conds []C, f conditions.Accessor[C], status corev1.ConditionStatus, reason, message string) []C {
	conds, _ = conditions.Set(conds, f, conditions.Condition{Type: commonv1alpha1.ConditionTypeScheduled, Status: status, Reason: reason, Message: message})
	return conds
}

func refName(ref *commonv1alpha1.LocalObjectReference) string {
	if ref == nil {
		return ""
	}
	return ref.Name
}

func poolInfo(meta metav1.ObjectMeta, taints []commonv1alpha1.Taint, isReady bool, classes []corev1.LocalObjectReference,
	capacity commonv1alpha1.ResourceList, classType commonv1alpha1.ClassType) PoolInfo {
	info := PoolInfo{Name: meta.Name, Labels: meta.Labels, Ready: isReady, Taints: taints, Capacity: make(map[string]int64, len(classes))}
	for _, c := range classes {
		q := capacity[commonv1alpha1.ClassCountFor(classType, c.Name)]
		info.Capacity[c.Name] = q.Value()
	}
	return info
}

// snapshotPool is the pool holding a VolumeSnapshot, where a Volume restoring it must go: the
// pool label our volumepoollet sets when it takes the snapshot, else (IronCore's volumepoollet
// sets none) the pool of the snapshot's source Volume.
func snapshotPool(ctx context.Context, r client.Reader, namespace, name string) (string, string, error) {
	snap := &storagev1alpha1.VolumeSnapshot{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, snap); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Sprintf("VolumeSnapshot %s does not exist", name), nil
		}
		return "", "", err
	}
	if pool := snap.Labels[storagev1alpha1.VolumeSnapshotPoolLabel]; pool != "" {
		return pool, "", nil
	}
	if snap.Spec.VolumeRef == nil {
		return "", fmt.Sprintf("VolumeSnapshot %s has no volumeRef", name), nil
	}
	src := &storagev1alpha1.Volume{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: snap.Spec.VolumeRef.Name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Sprintf("VolumeSnapshot %s is not taken by a pool yet, and its Volume %s does not exist", name, snap.Spec.VolumeRef.Name), nil
		}
		return "", "", err
	}
	if pool := refName(src.Spec.VolumePoolRef); pool != "" {
		return pool, "", nil
	}
	return "", fmt.Sprintf("VolumeSnapshot %s is not taken by a pool yet, and its Volume %s is not bound to one", name, src.Name), nil
}
