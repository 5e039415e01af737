// Package conditions reads and writes the condition lists of ironfed's kinds. Each kind has its
// own condition struct (IronCore's JSON), all agreeing on type, status, reason, message and
// lastTransitionTime; an Accessor points at those fields so one generic implementation serves all.
package conditions

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// Fields points into one condition.
type Fields struct {
	Type           string
	SetType        func(string)
	Status         *corev1.ConditionStatus
	Reason         *string
	Message        *string
	LastTransition *metav1.Time
}

// Accessor returns the fields of a condition of type C.
type Accessor[C any] func(*C) Fields

// Condition is a kind-neutral condition value.
type Condition struct {
	Type    string
	Status  corev1.ConditionStatus
	Reason  string
	Message string
}

// Get returns the condition of type typ.
func Get[C any](conds []C, f Accessor[C], typ string) (Condition, bool) {
	for i := range conds {
		if r := f(&conds[i]); r.Type == typ {
			return Condition{Type: typ, Status: *r.Status, Reason: *r.Reason, Message: *r.Message}, true
		}
	}
	return Condition{}, false
}

// IsTrue reports whether the condition of type typ exists and is True.
func IsTrue[C any](conds []C, f Accessor[C], typ string) bool {
	c, ok := Get(conds, f, typ)
	return ok && c.Status == corev1.ConditionTrue
}

// Set adds or updates a condition, moving its transition time only when the status changes.
// It reports whether anything changed.
func Set[C any](conds []C, f Accessor[C], c Condition) ([]C, bool) {
	now := metav1.Now()
	for i := range conds {
		r := f(&conds[i])
		if r.Type != c.Type {
			continue
		}
		if *r.Status == c.Status && *r.Reason == c.Reason && *r.Message == c.Message {
			return conds, false
		}
		if *r.Status != c.Status {
			*r.LastTransition = now
		}
		*r.Status, *r.Reason, *r.Message = c.Status, c.Reason, c.Message
		return conds, true
	}
	var fresh C
	r := f(&fresh)
	r.SetType(c.Type)
	*r.Status, *r.Reason, *r.Message, *r.LastTransition = c.Status, c.Reason, c.Message, now
	return append(conds, fresh), true
}

// fields builds Fields for a condition whose type field has the named string type T.
func fields[T ~string](typ *T, status *corev1.ConditionStatus, reason, message *string, lastTransition *metav1.Time) Fields {
	return Fields{
		Type: string(*typ), SetType: func(s string) { *typ = T(s) },
		Status: status, Reason: reason, Message: message, LastTransition: lastTransition,
	}
}

// Accessors of every condition struct ironfed serves.
var (
	Machine Accessor[computev1alpha1.MachineCondition] = func(c *computev1alpha1.MachineCondition) Fields {
		return fields(&c.Type, &c.Status, &c.Reason, &c.Message, &c.LastTransitionTime)
	}
	MachinePool Accessor[computev1alpha1.MachinePoolCondition] = func(c *computev1alpha1.MachinePoolCondition) Fields {
		return fields(&c.Type, &c.Status, &c.Reason, &c.Message, &c.LastTransitionTime)
	}
	Volume Accessor[storagev1alpha1.VolumeCondition] = func(c *storagev1alpha1.VolumeCondition) Fields {
		return fields(&c.Type, &c.Status, &c.Reason, &c.Message, &c.LastTransitionTime)
	}
	VolumeSnapshot Accessor[storagev1alpha1.VolumeSnapshotCondition] = func(c *storagev1alpha1.VolumeSnapshotCondition) Fields {
		return fields(&c.Type, &c.Status, &c.Reason, &c.Message, &c.LastTransitionTime)
	}
	VolumePool Accessor[storagev1alpha1.VolumePoolCondition] = func(c *storagev1alpha1.VolumePoolCondition) Fields {
		return fields(&c.Type, &c.Status, &c.Reason, &c.Message, &c.LastTransitionTime)
	}
	Bucket Accessor[storagev1alpha1.BucketCondition] = func(c *storagev1alpha1.BucketCondition) Fields {
		return fields(&c.Type, &c.Status, &c.Reason, &c.Message, &c.LastTransitionTime)
	}
	BucketPool Accessor[storagev1alpha1.BucketPoolCondition] = func(c *storagev1alpha1.BucketPoolCondition) Fields {
		return fields(&c.Type, &c.Status, &c.Reason, &c.Message, &c.LastTransitionTime)
	}
)
