// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// VolumeSnapshotSpec is the desired state of a VolumeSnapshot.
// +kubebuilder:validation:XValidation:rule="self.volumeRef.name == oldSelf.volumeRef.name",message="volumeRef is immutable",fieldPath=".volumeRef"
type VolumeSnapshotSpec struct {
	// VolumeRef names the Volume (in the snapshot's namespace) to snapshot. Immutable.
	VolumeRef *commonv1alpha1.LocalObjectReference `json:"volumeRef"`
}

// VolumeSnapshotState is the state of a VolumeSnapshot.
// +kubebuilder:validation:Enum=Pending;Ready;Failed
type VolumeSnapshotState string

const (
	// VolumeSnapshotStatePending means the snapshot is not taken yet.
	VolumeSnapshotStatePending VolumeSnapshotState = "Pending"
	// VolumeSnapshotStateReady means the snapshot can be restored from.
	VolumeSnapshotStateReady VolumeSnapshotState = "Ready"
	// VolumeSnapshotStateFailed means taking the snapshot failed.
	VolumeSnapshotStateFailed VolumeSnapshotState = "Failed"
)

// VolumeSnapshotCondition is one aspect of a snapshot's state (an ironfed addition: IronCore's
// snapshots have no conditions).
type VolumeSnapshotCondition struct {
	// Type of the condition.
	Type string `json:"type"`
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

// VolumeSnapshotStatus is the observed state of a VolumeSnapshot.
type VolumeSnapshotStatus struct {
	// SnapshotID is the provider's ID of the snapshot, as "TYPE://SNAPSHOT_ID".
	// +optional
	SnapshotID string `json:"snapshotID,omitempty"`
	// State is the snapshot's state in the provider.
	// +optional
	State VolumeSnapshotState `json:"state,omitempty"`
	// LastStateTransitionTime is when State last changed.
	// +optional
	LastStateTransitionTime *metav1.Time `json:"lastStateTransitionTime,omitempty"`
	// Size is the storage the snapshot holds.
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// Conditions of the snapshot (an ironfed addition).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []VolumeSnapshotCondition `json:"conditions,omitempty"`
}

// VolumeSnapshot is a point-in-time copy of a Volume, taken by the provider of the Volume's pool;
// a Volume restores it through spec.dataSource.volumeSnapshotRef.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:selectablefield:JSONPath=".spec.volumeRef.name"
// +kubebuilder:printcolumn:name="VolumeRef",type=string,JSONPath=".spec.volumeRef.name"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type VolumeSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VolumeSnapshotSpec   `json:"spec,omitempty"`
	Status VolumeSnapshotStatus `json:"status,omitempty"`
}

// VolumeSnapshotList is a list of VolumeSnapshots.
// +kubebuilder:object:root=true
type VolumeSnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VolumeSnapshot `json:"items"`
}
