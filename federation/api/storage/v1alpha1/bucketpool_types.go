// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// BucketPoolSpec is the desired state of a BucketPool.
type BucketPoolSpec struct {
	// ProviderID is the provider's ID of the pool.
	// +optional
	ProviderID string `json:"providerID"`
	// Taints keep Buckets that do not tolerate them out of the pool.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Taints []commonv1alpha1.Taint `json:"taints,omitempty"`
}

// BucketPoolState is the state of a BucketPool.
// +kubebuilder:validation:Enum=Available;Pending;Unavailable
type BucketPoolState string

const (
	// BucketPoolStateAvailable means the pool accepts buckets.
	BucketPoolStateAvailable BucketPoolState = "Available"
	// BucketPoolStatePending means the pool is not ready yet.
	BucketPoolStatePending BucketPoolState = "Pending"
	// BucketPoolStateUnavailable means the pool does not accept buckets.
	BucketPoolStateUnavailable BucketPoolState = "Unavailable"
)

// BucketPoolConditionType is the type of a BucketPoolCondition.
type BucketPoolConditionType string

const (
	// BucketPoolReady is True while the pool is healthy and accepts buckets.
	BucketPoolReady BucketPoolConditionType = commonv1alpha1.ConditionTypeReady
)

// BucketPoolCondition is one aspect of a pool's state. (IronCore's
// BucketPoolStatus has no conditions; this is an ironfed addition shaped like
// MachinePoolCondition.)
type BucketPoolCondition struct {
	// Type of the condition.
	Type BucketPoolConditionType `json:"type"`
	// Status of the condition: True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// Reason is a CamelCase, machine-readable cause of the status.
	// +optional
	Reason string `json:"reason"`
	// Message explains the status to humans.
	// +optional
	Message string `json:"message"`
	// ObservedGeneration is the metadata.generation the condition was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastUpdateTime is when the condition was last written.
	// +optional
	LastUpdateTime metav1.Time `json:"lastUpdateTime,omitempty"`
	// LastTransitionTime is when the status last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// BucketPoolStatus is the observed state of a BucketPool.
type BucketPoolStatus struct {
	// State of the pool.
	// +optional
	State BucketPoolState `json:"state,omitempty"`
	// AvailableBucketClasses are the BucketClasses the pool can provision.
	// +optional
	// +listType=atomic
	AvailableBucketClasses []corev1.LocalObjectReference `json:"availableBucketClasses,omitempty"`

	// Conditions of the pool. An ironfed addition.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []BucketPoolCondition `json:"conditions,omitempty"`
	// Capacity is the pool's total resources, including per-class counts keyed
	// by commonv1alpha1.ClassCountFor(ClassTypeBucketClass, name). An ironfed
	// addition, used for capacity-based bucket scheduling.
	// +optional
	Capacity commonv1alpha1.ResourceList `json:"capacity,omitempty"`
	// Allocatable is the part of Capacity still available for new buckets.
	// An ironfed addition.
	// +optional
	Allocatable commonv1alpha1.ResourceList `json:"allocatable,omitempty"`
}

// BucketPool is a place Buckets are provisioned in, such as an object store
// of one member cluster.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type BucketPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BucketPoolSpec   `json:"spec,omitempty"`
	Status BucketPoolStatus `json:"status,omitempty"`
}

// BucketPoolList is a list of BucketPools.
// +kubebuilder:object:root=true
type BucketPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BucketPool `json:"items"`
}
