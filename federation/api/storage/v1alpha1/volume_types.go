// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// VolumeSpec is the desired state of a Volume.
// +kubebuilder:validation:XValidation:rule="!has(self.volumeClassRef) || (has(self.resources) && 'storage' in self.resources)",message="resources.storage is required when volumeClassRef is set",fieldPath=".resources"
// +kubebuilder:validation:XValidation:rule="has(self.volumeClassRef) || (!has(self.volumePoolRef) && !has(self.volumePoolSelector) && !has(self.resources) && !has(self.tolerations))",message="volumePoolRef, volumePoolSelector, resources and tolerations require volumeClassRef"
// +kubebuilder:validation:XValidation:rule="!(has(self.unclaimable) && self.unclaimable && has(self.claimRef))",message="claimRef must not be set on an unclaimable volume",fieldPath=".claimRef"
// +kubebuilder:validation:XValidation:rule="has(self.volumeClassRef) == has(oldSelf.volumeClassRef) && (!has(self.volumeClassRef) || self.volumeClassRef.name == oldSelf.volumeClassRef.name)",message="volumeClassRef is immutable",fieldPath=".volumeClassRef"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.volumePoolRef) || (has(self.volumePoolRef) && self.volumePoolRef.name == oldSelf.volumePoolRef.name)",message="volumePoolRef cannot be changed once set",fieldPath=".volumePoolRef"
// +kubebuilder:validation:XValidation:rule="has(self.encryption) == has(oldSelf.encryption) && (!has(self.encryption) || self.encryption.secretRef.name == oldSelf.encryption.secretRef.name)",message="encryption is immutable",fieldPath=".encryption"
type VolumeSpec struct {
	// VolumeClassRef is the class of the volume. Without a class, the volume
	// is not scheduled or provisioned by ironfed but by an external
	// controller. Immutable.
	// +optional
	VolumeClassRef *commonv1alpha1.LocalObjectReference `json:"volumeClassRef,omitempty"`
	// VolumePoolSelector restricts scheduling to VolumePools with these labels.
	// +optional
	VolumePoolSelector map[string]string `json:"volumePoolSelector,omitempty"`
	// VolumePoolRef is the VolumePool the volume is provisioned in. If unset,
	// the scheduler picks one; once set it cannot change.
	// +optional
	VolumePoolRef *commonv1alpha1.LocalObjectReference `json:"volumePoolRef,omitempty"`
	// ClaimRef is the object (usually a Machine) claiming the volume.
	// +optional
	ClaimRef *commonv1alpha1.LocalUIDReference `json:"claimRef,omitempty"`
	// Resources requested for the volume; "storage" (its size) is required
	// when the volume has a class.
	// +optional
	Resources commonv1alpha1.ResourceList `json:"resources,omitempty"`
	// Unclaimable marks the volume as not claimable by any object.
	// +optional
	Unclaimable bool `json:"unclaimable,omitempty"`
	// Tolerations let the volume be placed on VolumePools with matching taints.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Tolerations []commonv1alpha1.Toleration `json:"tolerations,omitempty"`
	// Encryption, if set, encrypts the volume. Immutable.
	// +optional
	Encryption *VolumeEncryption `json:"encryption,omitempty"`
	// DataSource is what to populate the volume with.
	// +optional
	DataSource VolumeDataSource `json:"dataSource,omitempty"`
}

// VolumeEncryption says how to encrypt a volume.
type VolumeEncryption struct {
	// SecretRef names the Secret holding the key: its "encryptionKey" entry is
	// a base64-encoded 256-bit key.
	SecretRef commonv1alpha1.LocalObjectReference `json:"secretRef"`
}

// VolumeDataSource is what a volume is populated with. At most one field may be set.
// +kubebuilder:validation:XValidation:rule="!(has(self.volumeSnapshotRef) && has(self.osImage))",message="at most one of volumeSnapshotRef or osImage may be set"
type VolumeDataSource struct {
	// VolumeSnapshotRef names the VolumeSnapshot to restore.
	// +optional
	VolumeSnapshotRef *commonv1alpha1.LocalObjectReference `json:"volumeSnapshotRef,omitempty"`
	// OSImage is the operating system image to write onto the volume.
	// +optional
	OSImage *OSDataSource `json:"osImage,omitempty"`
}

// OSDataSource is an operating system image to populate a volume with.
type OSDataSource struct {
	// Image is the image reference.
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`
	// Architecture of the image, e.g. "amd64"; empty means the provider's default.
	// +optional
	Architecture *string `json:"architecture,omitempty"`
}

// VolumeAccess says how to attach a provisioned volume.
type VolumeAccess struct {
	// SecretRef names the Secret with the credentials to access the volume.
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
	// Driver is the name of the driver that attaches the volume.
	Driver string `json:"driver"`
	// Handle identifies the volume to the driver.
	Handle string `json:"handle"`
	// VolumeAttributes are driver-specific attributes of the volume.
	// +optional
	VolumeAttributes map[string]string `json:"volumeAttributes,omitempty"`
}

// VolumeState is the provisioning state of a Volume.
// +kubebuilder:validation:Enum=Pending;Available;Error
type VolumeState string

const (
	// VolumeStatePending means the volume is not provisioned yet.
	VolumeStatePending VolumeState = "Pending"
	// VolumeStateAvailable means the volume is provisioned and usable.
	VolumeStateAvailable VolumeState = "Available"
	// VolumeStateError means provisioning the volume failed.
	VolumeStateError VolumeState = "Error"
)

// MaxVolumeBytes is the largest volume ironfed accepts (1 PiB, an ironfed bound; IronCore has
// none): the scheduler reports a larger Volume as InvalidSpec and the volume broker refuses it,
// so a size near 2^63 never reaches a provider's capacity sums.
const MaxVolumeBytes int64 = 1 << 50

// VolumeConditionType is the type of a VolumeCondition.
type VolumeConditionType string

const (
	// VolumeScheduled tells whether a VolumePool was chosen for the volume
	// (reasons commonv1alpha1.ReasonScheduled, commonv1alpha1.ReasonUnschedulable).
	// An ironfed addition.
	VolumeScheduled VolumeConditionType = commonv1alpha1.ConditionTypeScheduled
)

// VolumeCondition is one aspect of a volume's state.
type VolumeCondition struct {
	// Type of the condition.
	Type VolumeConditionType `json:"type"`
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

// VolumeStatus is the observed state of a Volume.
type VolumeStatus struct {
	// VolumeID is the provider's ID of the volume, as "TYPE://VOLUME_ID".
	// +optional
	VolumeID string `json:"volumeID,omitempty"`
	// State is the provisioning state.
	// +optional
	// +kubebuilder:default=Pending
	State VolumeState `json:"state,omitempty"`
	// LastStateTransitionTime is when State last changed.
	// +optional
	LastStateTransitionTime *metav1.Time `json:"lastStateTransitionTime,omitempty"`
	// Access says how to attach the volume; set by the provider once provisioned.
	// +optional
	Access *VolumeAccess `json:"access,omitempty"`
	// Conditions of the volume.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []VolumeCondition `json:"conditions,omitempty"`
	// Resources are the resources the volume effectively has.
	// +optional
	Resources commonv1alpha1.ResourceList `json:"resources,omitempty"`
}

// Volume is a block storage device that Machines can attach.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:selectablefield:JSONPath=".spec.volumePoolRef.name"
// +kubebuilder:selectablefield:JSONPath=".spec.volumeClassRef.name"
// +kubebuilder:printcolumn:name="VolumeClass",type=string,JSONPath=".spec.volumeClassRef.name"
// +kubebuilder:printcolumn:name="VolumePool",type=string,JSONPath=".spec.volumePoolRef.name"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Volume struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VolumeSpec `json:"spec,omitempty"`
	// Status is the observed state of the Volume. It defaults to {} so that its state defaults to
	// Pending, as on IronCore's apiserver.
	// +kubebuilder:default={}
	Status VolumeStatus `json:"status,omitempty"`
}

// VolumeList is a list of Volumes.
// +kubebuilder:object:root=true
type VolumeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Volume `json:"items"`
}

// VolumeTemplateSpec describes a Volume to create, as used by a Machine's
// ephemeral volumes.
type VolumeTemplateSpec struct {
	// Metadata of the Volume to create. Only labels and annotations are used.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the Volume to create.
	// +optional
	Spec VolumeSpec `json:"spec,omitempty"`
}
