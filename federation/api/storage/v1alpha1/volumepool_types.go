// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// VolumePoolSpec is the desired state of a VolumePool.
type VolumePoolSpec struct {
	// ProviderID is the provider's ID of the pool.
	// +optional
	ProviderID string `json:"providerID"`
	// Taints keep Volumes that do not tolerate them out of the pool.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Taints []commonv1alpha1.Taint `json:"taints,omitempty"`
}

// VolumePoolState is the state of a VolumePool.
// +kubebuilder:validation:Enum=Available;Pending;Unavailable
type VolumePoolState string

const (
	// VolumePoolStateAvailable means the pool accepts volumes.
	VolumePoolStateAvailable VolumePoolState = "Available"
	// VolumePoolStatePending means the pool is not ready yet.
	VolumePoolStatePending VolumePoolState = "Pending"
	// VolumePoolStateUnavailable means the pool does not accept volumes.
	VolumePoolStateUnavailable VolumePoolState = "Unavailable"
)

// VolumePoolConditionType is the type of a VolumePoolCondition.
type VolumePoolConditionType string

const (
	// VolumePoolReady is True while the pool is healthy and accepts volumes.
	VolumePoolReady VolumePoolConditionType = commonv1alpha1.ConditionTypeReady
)

// VolumePoolCondition is one aspect of a pool's state.
type VolumePoolCondition struct {
	// Type of the condition.
	Type VolumePoolConditionType `json:"type"`
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
	// LastTransitionTime is when the status last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// VolumePoolStatus is the observed state of a VolumePool.
type VolumePoolStatus struct {
	// State of the pool.
	// +optional
	State VolumePoolState `json:"state,omitempty"`
	// Conditions of the pool.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []VolumePoolCondition `json:"conditions,omitempty"`
	// AvailableVolumeClasses are the VolumeClasses the pool can provision.
	// +optional
	// +listType=atomic
	AvailableVolumeClasses []corev1.LocalObjectReference `json:"availableVolumeClasses,omitempty"`
	// Capacity is the pool's total resources, including per-class counts keyed
	// by commonv1alpha1.ClassCountFor(ClassTypeVolumeClass, name).
	// +optional
	Capacity commonv1alpha1.ResourceList `json:"capacity,omitempty"`
	// Allocatable is the part of Capacity still available for new volumes.
	// +optional
	Allocatable commonv1alpha1.ResourceList `json:"allocatable,omitempty"`
}

// VolumePool is a place Volumes are provisioned in, such as a storage
// cluster of one member cluster.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type VolumePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VolumePoolSpec   `json:"spec,omitempty"`
	Status VolumePoolStatus `json:"status,omitempty"`
}

// VolumePoolList is a list of VolumePools.
// +kubebuilder:object:root=true
type VolumePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VolumePool `json:"items"`
}
