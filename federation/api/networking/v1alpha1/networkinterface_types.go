// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// NetworkInterfaceSpec is the desired state of a NetworkInterface.
type NetworkInterfaceSpec struct {
	// ProviderID is the provider's ID of the network interface.
	// +optional
	ProviderID string `json:"providerID,omitempty"`
	// NetworkRef is the Network the interface is connected to.
	NetworkRef commonv1alpha1.LocalObjectReference `json:"networkRef"`
	// MachineRef is the Machine using the interface, if any.
	// +optional
	MachineRef *commonv1alpha1.LocalUIDReference `json:"machineRef,omitempty"`
	// IPFamilies are the IP families the interface supports.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:Enum=IPv4;IPv6
	IPFamilies []corev1.IPFamily `json:"ipFamilies,omitempty"`
	// IPs are the IPs to assign to the interface, given literally or allocated
	// from an ephemeral Prefix.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	IPs []IPSource `json:"ips,omitempty"`
	// Prefixes are the prefixes to route to the interface, given literally or
	// allocated from an ephemeral Prefix.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Prefixes []PrefixSource `json:"prefixes,omitempty"`
	// VirtualIP is the virtual IP to assign to the interface.
	// +optional
	VirtualIP *VirtualIPSource `json:"virtualIP,omitempty"`
	// Attributes are provider-specific attributes of the interface.
	// +optional
	Attributes map[string]string `json:"attributes,omitempty"`
}

// IPSource says where an IP comes from. Exactly one field must be set.
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.ephemeral)",message="exactly one of value or ephemeral must be set"
type IPSource struct {
	// Value is a literal IP.
	// +optional
	Value *commonv1alpha1.IP `json:"value,omitempty"`
	// Ephemeral allocates the IP from an ephemeral Prefix.
	// +optional
	Ephemeral *EphemeralPrefixSource `json:"ephemeral,omitempty"`
}

// PrefixSource says where a prefix comes from. Exactly one field must be set.
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.ephemeral)",message="exactly one of value or ephemeral must be set"
type PrefixSource struct {
	// Value is a literal prefix.
	// +optional
	Value *commonv1alpha1.IPPrefix `json:"value,omitempty"`
	// Ephemeral allocates the prefix as an ephemeral Prefix.
	// +optional
	Ephemeral *EphemeralPrefixSource `json:"ephemeral,omitempty"`
}

// VirtualIPSource says where a virtual IP comes from. Exactly one field must be set.
// +kubebuilder:validation:XValidation:rule="has(self.virtualIPRef) != has(self.ephemeral)",message="exactly one of virtualIPRef or ephemeral must be set"
type VirtualIPSource struct {
	// VirtualIPRef names an existing VirtualIP.
	// +optional
	VirtualIPRef *commonv1alpha1.LocalObjectReference `json:"virtualIPRef,omitempty"`
	// Ephemeral creates a VirtualIP bound to the lifetime of the interface.
	// +optional
	Ephemeral *EphemeralVirtualIPSource `json:"ephemeral,omitempty"`
}

// NetworkInterfaceState is the provisioning state of a NetworkInterface.
// +kubebuilder:validation:Enum=Pending;Available;Error
type NetworkInterfaceState string

const (
	// NetworkInterfaceStatePending means the interface is not provisioned yet.
	NetworkInterfaceStatePending NetworkInterfaceState = "Pending"
	// NetworkInterfaceStateAvailable means the interface is provisioned and usable.
	NetworkInterfaceStateAvailable NetworkInterfaceState = "Available"
	// NetworkInterfaceStateError means provisioning the interface failed.
	NetworkInterfaceStateError NetworkInterfaceState = "Error"
)

// NetworkInterfaceStatus is the observed state of a NetworkInterface.
type NetworkInterfaceStatus struct {
	// State is the provisioning state.
	// +optional
	// +kubebuilder:default=Pending
	State NetworkInterfaceState `json:"state,omitempty"`
	// LastStateTransitionTime is when State last changed.
	// +optional
	LastStateTransitionTime *metav1.Time `json:"lastStateTransitionTime,omitempty"`
	// IPs are the IPs effectively assigned.
	// +optional
	// +listType=atomic
	IPs []commonv1alpha1.IP `json:"ips,omitempty"`
	// Prefixes are the prefixes effectively routed to the interface.
	// +optional
	// +listType=atomic
	Prefixes []commonv1alpha1.IPPrefix `json:"prefixes,omitempty"`
	// VirtualIP is the virtual IP effectively assigned, if any.
	// +optional
	VirtualIP *commonv1alpha1.IP `json:"virtualIP,omitempty"`
}

// NetworkInterface connects a Machine to a Network.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:selectablefield:JSONPath=".spec.networkRef.name"
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=".spec.networkRef.name"
// +kubebuilder:printcolumn:name="Machine",type=string,JSONPath=".spec.machineRef.name"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type NetworkInterface struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec NetworkInterfaceSpec `json:"spec,omitempty"`
	// Status is the observed state of the NetworkInterface. It defaults to {} so that its state defaults to
	// Pending, as on IronCore's apiserver.
	// +kubebuilder:default={}
	Status NetworkInterfaceStatus `json:"status,omitempty"`
}

// NetworkInterfaceList is a list of NetworkInterfaces.
// +kubebuilder:object:root=true
type NetworkInterfaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NetworkInterface `json:"items"`
}

// NetworkInterfaceTemplateSpec describes a NetworkInterface to create, as used
// by a Machine's ephemeral network interfaces.
type NetworkInterfaceTemplateSpec struct {
	// Metadata of the NetworkInterface to create. Only labels and annotations
	// are used.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the NetworkInterface to create.
	// +optional
	Spec NetworkInterfaceSpec `json:"spec,omitempty"`
}
