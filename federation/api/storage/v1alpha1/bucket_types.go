// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// BucketSpec is the desired state of a Bucket.
// +kubebuilder:validation:XValidation:rule="has(self.bucketClassRef) || (!has(self.bucketPoolRef) && !has(self.bucketPoolSelector) && !has(self.tolerations))",message="bucketPoolRef, bucketPoolSelector and tolerations require bucketClassRef"
// +kubebuilder:validation:XValidation:rule="has(self.bucketClassRef) == has(oldSelf.bucketClassRef) && (!has(self.bucketClassRef) || self.bucketClassRef.name == oldSelf.bucketClassRef.name)",message="bucketClassRef is immutable",fieldPath=".bucketClassRef"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.bucketPoolRef) || (has(self.bucketPoolRef) && self.bucketPoolRef.name == oldSelf.bucketPoolRef.name)",message="bucketPoolRef cannot be changed once set",fieldPath=".bucketPoolRef"
type BucketSpec struct {
	// BucketClassRef is the class of the bucket. Without a class, the bucket
	// is not scheduled or provisioned by ironfed but by an external
	// controller. Immutable.
	// +optional
	BucketClassRef *commonv1alpha1.LocalObjectReference `json:"bucketClassRef,omitempty"`
	// BucketPoolSelector restricts scheduling to BucketPools with these labels.
	// +optional
	BucketPoolSelector map[string]string `json:"bucketPoolSelector,omitempty"`
	// BucketPoolRef is the BucketPool the bucket is provisioned in. If unset,
	// the scheduler picks one; once set it cannot change.
	// +optional
	BucketPoolRef *commonv1alpha1.LocalObjectReference `json:"bucketPoolRef,omitempty"`
	// Tolerations let the bucket be placed on BucketPools with matching taints.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Tolerations []commonv1alpha1.Toleration `json:"tolerations,omitempty"`
}

// BucketAccess says how to reach a provisioned bucket.
type BucketAccess struct {
	// SecretRef names the Secret with the credentials to access the bucket.
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
	// Endpoint is the address of the bucket's REST API.
	Endpoint string `json:"endpoint"`
}

// BucketState is the provisioning state of a Bucket.
// +kubebuilder:validation:Enum=Pending;Available;Error
type BucketState string

const (
	// BucketStatePending means the bucket is not provisioned yet.
	BucketStatePending BucketState = "Pending"
	// BucketStateAvailable means the bucket is provisioned and usable.
	BucketStateAvailable BucketState = "Available"
	// BucketStateError means provisioning the bucket failed.
	BucketStateError BucketState = "Error"
)

// BucketConditionType is the type of a BucketCondition.
type BucketConditionType string

const (
	// BucketScheduled tells whether a BucketPool was chosen for the bucket
	// (reasons commonv1alpha1.ReasonScheduled, commonv1alpha1.ReasonUnschedulable).
	// An ironfed addition.
	BucketScheduled BucketConditionType = commonv1alpha1.ConditionTypeScheduled
)

// BucketCondition is one aspect of a bucket's state.
type BucketCondition struct {
	// Type of the condition.
	Type BucketConditionType `json:"type"`
	// Status of the condition: True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// Reason is a CamelCase, machine-readable cause of the status.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains the status to humans.
	// +optional
	Message string `json:"message,omitempty"`
	// ObservedGeneration is the metadata.generation the condition was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastTransitionTime is when the status last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// BucketStatus is the observed state of a Bucket.
type BucketStatus struct {
	// BucketID is the provider's ID of the bucket, as "TYPE://BUCKET_ID".
	// +optional
	BucketID string `json:"bucketID,omitempty"`
	// State is the provisioning state.
	// +optional
	// +kubebuilder:default=Pending
	State BucketState `json:"state,omitempty"`
	// LastStateTransitionTime is when State last changed.
	// +optional
	LastStateTransitionTime *metav1.Time `json:"lastStateTransitionTime,omitempty"`
	// Access says how to reach the bucket; set by the provider once provisioned.
	// +optional
	Access *BucketAccess `json:"access,omitempty"`
	// Conditions of the bucket.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []BucketCondition `json:"conditions,omitempty"`
}

// Bucket is an object storage bucket.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:selectablefield:JSONPath=".spec.bucketPoolRef.name"
// +kubebuilder:selectablefield:JSONPath=".spec.bucketClassRef.name"
// +kubebuilder:printcolumn:name="BucketClass",type=string,JSONPath=".spec.bucketClassRef.name"
// +kubebuilder:printcolumn:name="BucketPool",type=string,JSONPath=".spec.bucketPoolRef.name"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Bucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BucketSpec `json:"spec,omitempty"`
	// Status is the observed state of the Bucket. It defaults to {} so that its state defaults to
	// Pending, as on IronCore's apiserver.
	// +kubebuilder:default={}
	Status BucketStatus `json:"status,omitempty"`
}

// BucketList is a list of Buckets.
// +kubebuilder:object:root=true
type BucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bucket `json:"items"`
}

// BucketTemplateSpec describes a Bucket to create.
type BucketTemplateSpec struct {
	// Metadata of the Bucket to create. Only labels and annotations are used.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the Bucket to create.
	// +optional
	Spec BucketSpec `json:"spec,omitempty"`
}
