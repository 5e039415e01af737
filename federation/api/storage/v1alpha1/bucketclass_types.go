// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// BucketClass is a flavor of Bucket: its performance capabilities.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="TPS",type=string,JSONPath=".capabilities.tps"
// +kubebuilder:printcolumn:name="IOPS",type=string,JSONPath=".capabilities.iops"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type BucketClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Capabilities of buckets of this class, e.g. tps and iops.
	// +optional
	Capabilities commonv1alpha1.ResourceList `json:"capabilities,omitempty"`
}

// BucketClassList is a list of BucketClasses.
// +kubebuilder:object:root=true
type BucketClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BucketClass `json:"items"`
}
