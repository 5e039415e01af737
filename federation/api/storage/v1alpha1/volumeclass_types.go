// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// ResizePolicy says whether volumes of a class may be resized.
// +kubebuilder:validation:Enum=Static;ExpandOnly
type ResizePolicy string

const (
	// ResizePolicyStatic forbids resizing volumes.
	ResizePolicyStatic ResizePolicy = "Static"
	// ResizePolicyExpandOnly allows growing volumes but not shrinking them.
	ResizePolicyExpandOnly ResizePolicy = "ExpandOnly"
)

// VolumeClass is a flavor of Volume: its performance capabilities and
// whether volumes may be resized.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="TPS",type=string,JSONPath=".capabilities.tps"
// +kubebuilder:printcolumn:name="IOPS",type=string,JSONPath=".capabilities.iops"
// +kubebuilder:printcolumn:name="ResizePolicy",type=string,JSONPath=".resizePolicy",priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type VolumeClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Capabilities of volumes of this class, e.g. tps and iops.
	// +optional
	Capabilities commonv1alpha1.ResourceList `json:"capabilities,omitempty"`
	// ResizePolicy of volumes of this class. Empty means Static.
	// +optional
	ResizePolicy ResizePolicy `json:"resizePolicy,omitempty"`
}

// VolumeClassList is a list of VolumeClasses.
// +kubebuilder:object:root=true
type VolumeClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VolumeClass `json:"items"`
}
