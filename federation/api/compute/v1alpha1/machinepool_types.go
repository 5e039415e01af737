// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// MachinePoolSpec is the desired state of a MachinePool.
type MachinePoolSpec struct {
	// ProviderID is the provider's ID of the pool.
	// +optional
	ProviderID string `json:"providerID"`
	// Taints keep Machines that do not tolerate them out of the pool.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Taints []commonv1alpha1.Taint `json:"taints,omitempty"`
}

// MachinePoolState is the state of a MachinePool.
// +kubebuilder:validation:Enum=Ready;Pending;Error;Offline
type MachinePoolState string

const (
	// MachinePoolStateReady means the pool accepts machines.
	MachinePoolStateReady MachinePoolState = "Ready"
	// MachinePoolStatePending means the pool is not ready yet.
	MachinePoolStatePending MachinePoolState = "Pending"
	// MachinePoolStateError means the pool is in error.
	MachinePoolStateError MachinePoolState = "Error"
	// MachinePoolStateOffline means the pool is unreachable.
	MachinePoolStateOffline MachinePoolState = "Offline"
)

// MachinePoolConditionType is the type of a MachinePoolCondition.
type MachinePoolConditionType string

const (
	// MachinePoolReady is True while the pool is healthy and accepts machines.
	MachinePoolReady MachinePoolConditionType = commonv1alpha1.ConditionTypeReady
)

// MachinePoolCondition is one aspect of a pool's state.
type MachinePoolCondition struct {
	// Type of the condition.
	Type MachinePoolConditionType `json:"type"`
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

// MachinePoolAddressType is the kind of a MachinePoolAddress.
// +kubebuilder:validation:Enum=Hostname;InternalIP;ExternalIP;InternalDNS;ExternalDNS
type MachinePoolAddressType string

const (
	// MachinePoolHostName is the pool's host name, of unspecified syntax.
	MachinePoolHostName MachinePoolAddressType = "Hostname"
	// MachinePoolInternalIP is an IP reachable from within the cluster.
	MachinePoolInternalIP MachinePoolAddressType = "InternalIP"
	// MachinePoolExternalIP is an IP meant to be reachable from outside the cluster.
	MachinePoolExternalIP MachinePoolAddressType = "ExternalIP"
	// MachinePoolInternalDNS is a DNS name resolving to an internal IP.
	MachinePoolInternalDNS MachinePoolAddressType = "InternalDNS"
	// MachinePoolExternalDNS is a DNS name resolving to an external IP.
	MachinePoolExternalDNS MachinePoolAddressType = "ExternalDNS"
)

// MachinePoolAddress is an address the pool is reachable at.
type MachinePoolAddress struct {
	// Type of the address.
	Type MachinePoolAddressType `json:"type"`
	// Address itself.
	Address string `json:"address"`
}

// MachinePoolDaemonEndpoints are the endpoints of daemons serving the pool.
type MachinePoolDaemonEndpoints struct {
	// MachinepoolletEndpoint is where the pool's machinepoollet listens.
	// +optional
	MachinepoolletEndpoint DaemonEndpoint `json:"machinepoolletEndpoint,omitempty"`
}

// DaemonEndpoint is the endpoint of one daemon.
type DaemonEndpoint struct {
	// Port the daemon listens on.
	Port int32 `json:"port"`
}

// MachinePoolStatus is the observed state of a MachinePool.
type MachinePoolStatus struct {
	// State of the pool.
	// +optional
	State MachinePoolState `json:"state,omitempty"`
	// Conditions of the pool.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []MachinePoolCondition `json:"conditions,omitempty"`
	// AvailableMachineClasses are the MachineClasses the pool can run.
	// +optional
	// +listType=atomic
	AvailableMachineClasses []corev1.LocalObjectReference `json:"availableMachineClasses,omitempty"`
	// Addresses the pool is reachable at.
	// +optional
	// +listType=atomic
	Addresses []MachinePoolAddress `json:"addresses,omitempty"`
	// DaemonEndpoints are the endpoints of daemons serving the pool.
	// +optional
	DaemonEndpoints MachinePoolDaemonEndpoints `json:"daemonEndpoints,omitempty"`
	// Capacity is the pool's total resources, including per-class counts keyed
	// by commonv1alpha1.ClassCountFor(ClassTypeMachineClass, name).
	// +optional
	Capacity commonv1alpha1.ResourceList `json:"capacity,omitempty"`
	// Allocatable is the part of Capacity still available for new machines.
	// +optional
	Allocatable commonv1alpha1.ResourceList `json:"allocatable,omitempty"`
}

// MachinePool is a place Machines run in, such as a hypervisor fleet of one
// member cluster.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type MachinePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MachinePoolSpec   `json:"spec,omitempty"`
	Status MachinePoolStatus `json:"status,omitempty"`
}

// MachinePoolList is a list of MachinePools.
// +kubebuilder:object:root=true
type MachinePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachinePool `json:"items"`
}
