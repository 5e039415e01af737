// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// NetworkSpec is the desired state of a Network.
type NetworkSpec struct {
	// ProviderID is the provider's ID of the network.
	// +optional
	ProviderID string `json:"providerID,omitempty"`
	// Peerings are the networks this network peers with.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Peerings []NetworkPeering `json:"peerings,omitempty"`
	// IncomingPeerings are the networks that claimed a peering with this one.
	// +optional
	// +listType=atomic
	IncomingPeerings []NetworkPeeringClaimRef `json:"incomingPeerings,omitempty"`
}

// NetworkPeeringClaimRef points at a network that claimed a peering.
type NetworkPeeringClaimRef struct {
	// Namespace of the network. Empty means the namespace of this network.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the network.
	Name string `json:"name"`
	// UID of the network.
	// +optional
	UID types.UID `json:"uid,omitempty"`
}

// NetworkPeeringNetworkRef points at the network to peer with.
type NetworkPeeringNetworkRef struct {
	// Namespace of the network. Empty means the namespace of this network.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the network.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// NetworkPeering peers this network with another one.
type NetworkPeering struct {
	// Name of the peering, unique within the network.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// NetworkRef is the network to peer with.
	NetworkRef NetworkPeeringNetworkRef `json:"networkRef"`
	// Prefixes restrict what is exposed to the peered network; none means no
	// restriction.
	// +optional
	// +listType=atomic
	Prefixes []PeeringPrefix `json:"prefixes,omitempty"`
}

// PeeringPrefix is a prefix exposed to a peered network, given literally or by
// reference to an ipam Prefix.
type PeeringPrefix struct {
	// Name of the prefix.
	Name string `json:"name"`
	// Prefix is a literal prefix.
	// +optional
	Prefix *commonv1alpha1.IPPrefix `json:"prefix,omitempty"`
	// PrefixRef names an ipam.ironcore.dev Prefix.
	// +optional
	PrefixRef corev1.LocalObjectReference `json:"prefixRef,omitempty"`
}

// NetworkState is the provisioning state of a Network.
// +kubebuilder:validation:Enum=Pending;Available;Error
type NetworkState string

const (
	// NetworkStatePending means the network is being provisioned.
	NetworkStatePending NetworkState = "Pending"
	// NetworkStateAvailable means the network is usable.
	NetworkStateAvailable NetworkState = "Available"
	// NetworkStateError means provisioning the network failed.
	NetworkStateError NetworkState = "Error"
)

// NetworkPeeringState is the state of one peering.
// +kubebuilder:validation:Enum=Pending;Ready;Error
type NetworkPeeringState string

const (
	// NetworkPeeringStatePending means the peering is not established yet.
	NetworkPeeringStatePending NetworkPeeringState = "Pending"
	// NetworkPeeringStateReady means the peering is established.
	NetworkPeeringStateReady NetworkPeeringState = "Ready"
	// NetworkPeeringStateError means establishing the peering failed.
	NetworkPeeringStateError NetworkPeeringState = "Error"
)

// NetworkStatus is the observed state of a Network.
type NetworkStatus struct {
	// State is the provisioning state.
	// +optional
	State NetworkState `json:"state,omitempty"`
	// Peerings are the states of the network's peerings.
	// +optional
	// +listType=map
	// +listMapKey=name
	Peerings []NetworkPeeringStatus `json:"peerings,omitempty"`
}

// NetworkPeeringStatus is the observed state of one peering.
type NetworkPeeringStatus struct {
	// Name of the peering.
	Name string `json:"name"`
	// State of the peering.
	// +optional
	State NetworkPeeringState `json:"state,omitempty"`
	// Prefixes are the prefixes effectively exposed.
	// +optional
	// +listType=atomic
	Prefixes []PeeringPrefixStatus `json:"prefixes,omitempty"`
}

// PeeringPrefixStatus is an effectively exposed prefix of a peering.
type PeeringPrefixStatus struct {
	// Name of the prefix.
	Name string `json:"name"`
	// Prefix is the effective prefix.
	// +optional
	Prefix *commonv1alpha1.IPPrefix `json:"prefix,omitempty"`
}

// Network is an isolated layer-3 network that NetworkInterfaces connect to.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Network struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NetworkSpec   `json:"spec,omitempty"`
	Status NetworkStatus `json:"status,omitempty"`
}

// NetworkList is a list of Networks.
// +kubebuilder:object:root=true
type NetworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Network `json:"items"`
}
