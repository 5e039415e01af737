// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// PrefixSpec is the desired state of a Prefix.
type PrefixSpec struct {
	// IPFamily of the prefix; derived from Prefix when that is set.
	// +optional
	IPFamily corev1.IPFamily `json:"ipFamily,omitempty"`
	// Prefix to allocate.
	// +optional
	Prefix *commonv1alpha1.IPPrefix `json:"prefix,omitempty"`
	// PrefixLength is the length of the prefix to allocate when Prefix is not set.
	// +optional
	PrefixLength int32 `json:"prefixLength,omitempty"`
	// ParentRef names the Prefix to allocate from; without it and ParentSelector the Prefix is a
	// root prefix.
	// +optional
	ParentRef *corev1.LocalObjectReference `json:"parentRef,omitempty"`
	// ParentSelector selects the Prefix to allocate from.
	// +optional
	ParentSelector *metav1.LabelSelector `json:"parentSelector,omitempty"`
}

// PrefixPhase is the allocation phase of a Prefix.
// +kubebuilder:validation:Enum=Pending;Allocated
type PrefixPhase string

const (
	// PrefixPhasePending means the prefix waits for allocation.
	PrefixPhasePending PrefixPhase = "Pending"
	// PrefixPhaseAllocated means the prefix is allocated.
	PrefixPhaseAllocated PrefixPhase = "Allocated"
)

// PrefixStatus is the observed state of a Prefix.
type PrefixStatus struct {
	// Phase of the prefix.
	// +optional
	Phase PrefixPhase `json:"phase,omitempty"`
	// LastPhaseTransitionTime is when Phase last changed.
	// +optional
	LastPhaseTransitionTime *metav1.Time `json:"lastPhaseTransitionTime,omitempty"`
	// Used are the sub-prefixes allocated from this one.
	// +optional
	// +listType=atomic
	Used []commonv1alpha1.IPPrefix `json:"used,omitempty"`
}

// Prefix is an IP prefix (IronCore's IPAM kind). ironfed stores Prefixes but allocates none.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:printcolumn:name="Prefix",type=string,JSONPath=".spec.prefix"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Prefix struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PrefixSpec   `json:"spec,omitempty"`
	Status PrefixStatus `json:"status,omitempty"`
}

// PrefixList is a list of Prefixes.
// +kubebuilder:object:root=true
type PrefixList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Prefix `json:"items"`
}
