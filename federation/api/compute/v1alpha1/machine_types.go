// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
)

// MachineSpec is the desired state of a Machine.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.machinePoolRef) || (has(self.machinePoolRef) && self.machinePoolRef.name == oldSelf.machinePoolRef.name)",message="machinePoolRef cannot be changed once set",fieldPath=".machinePoolRef"
type MachineSpec struct {
	// MachineClassRef is the class (flavor) of the machine. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="machineClassRef is immutable"
	MachineClassRef commonv1alpha1.LocalObjectReference `json:"machineClassRef"`
	// MachinePoolSelector restricts scheduling to MachinePools with these labels.
	// +optional
	MachinePoolSelector map[string]string `json:"machinePoolSelector,omitempty"`
	// MachinePoolRef is the MachinePool the machine runs in. If unset, the
	// scheduler picks one; once set it cannot change.
	// +optional
	MachinePoolRef *commonv1alpha1.LocalObjectReference `json:"machinePoolRef,omitempty"`
	// Power is the desired power state. Defaults to On.
	// +optional
	// +kubebuilder:default=On
	Power Power `json:"power,omitempty"`
	// NetworkInterfaces of the machine; names are unique.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces,omitempty"`
	// Volumes attached to the machine; names and devices are unique.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(a, !has(a.device) || self.exists_one(b, has(b.device) && b.device == a.device))",message="volume devices must be unique"
	Volumes []Volume `json:"volumes,omitempty"`
	// IgnitionRef selects the Secret entry holding the ignition the machine
	// boots with. An empty key means DefaultIgnitionKey.
	// +optional
	IgnitionRef *commonv1alpha1.SecretKeySelector `json:"ignitionRef,omitempty"`
	// EFIVars are passed to the firmware at boot.
	// +optional
	// +listType=map
	// +listMapKey=name
	EFIVars []EFIVar `json:"efiVars,omitempty"`
	// Tolerations let the machine be placed on MachinePools with matching taints.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Tolerations []commonv1alpha1.Toleration `json:"tolerations,omitempty"`
	// GuestConfig is configuration for the guest operating system.
	// +optional
	GuestConfig *MachineGuestConfig `json:"guestConfig,omitempty"`
}

// Power is the desired power state of a Machine.
// +kubebuilder:validation:Enum=On;Off
type Power string

const (
	// PowerOn asks for the machine to run.
	PowerOn Power = "On"
	// PowerOff asks for the machine to be shut down.
	PowerOff Power = "Off"
)

// DefaultIgnitionKey is the Secret key read when MachineSpec.IgnitionRef has no key.
const DefaultIgnitionKey = "ignition.yaml"

// EFIVar is a firmware variable set at boot.
type EFIVar struct {
	// Name of the variable.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// UUID is the vendor GUID the variable belongs to.
	UUID string `json:"uuid"`
	// Value of the variable.
	Value string `json:"value"`
}

// MachineGuestConfig is configuration for the guest operating system.
type MachineGuestConfig struct {
	// Hostname the guest should use.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Hostname string `json:"hostname,omitempty"`
}

// NetworkInterface attaches a network interface to a Machine. Exactly one
// source must be set.
// +kubebuilder:validation:XValidation:rule="has(self.networkInterfaceRef) != has(self.ephemeral)",message="exactly one of networkInterfaceRef or ephemeral must be set"
type NetworkInterface struct {
	// Name of the attachment, unique within the machine.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// NetworkInterfaceSource is where the interface comes from.
	NetworkInterfaceSource `json:",inline"`
}

// NetworkInterfaceSource is where a Machine's network interface comes from.
type NetworkInterfaceSource struct {
	// NetworkInterfaceRef names an existing NetworkInterface.
	// +optional
	NetworkInterfaceRef *commonv1alpha1.LocalObjectReference `json:"networkInterfaceRef,omitempty"`
	// Ephemeral creates a NetworkInterface bound to the lifetime of the machine.
	// +optional
	Ephemeral *EphemeralNetworkInterfaceSource `json:"ephemeral,omitempty"`
}

// Volume attaches a volume to a Machine. Exactly one source must be set.
// +kubebuilder:validation:XValidation:rule="(has(self.volumeRef) ? 1 : 0) + (has(self.emptyDisk) ? 1 : 0) + (has(self.localDisk) ? 1 : 0) + (has(self.ephemeral) ? 1 : 0) == 1",message="exactly one of volumeRef, emptyDisk, localDisk or ephemeral must be set"
type Volume struct {
	// Name of the attachment, unique within the machine.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Device is the device name the volume is attached as. If unset, a free
	// device name is chosen.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	Device *string `json:"device,omitempty"`
	// VolumeSource is where the volume comes from.
	VolumeSource `json:",inline"`
}

// VolumeSource is where a Machine's volume comes from.
type VolumeSource struct {
	// VolumeRef names an existing Volume.
	// +optional
	VolumeRef *commonv1alpha1.LocalObjectReference `json:"volumeRef,omitempty"`
	// EmptyDisk is a disk of the machine pool's provider.
	// Deprecated: use LocalDisk.
	// +optional
	EmptyDisk *EmptyDiskVolumeSource `json:"emptyDisk,omitempty"`
	// LocalDisk is a disk of the machine pool's provider.
	// +optional
	LocalDisk *LocalDiskVolumeSource `json:"localDisk,omitempty"`
	// Ephemeral creates a Volume bound to the lifetime of the machine.
	// +optional
	Ephemeral *EphemeralVolumeSource `json:"ephemeral,omitempty"`
}

// EmptyDiskVolumeSource is a blank disk provided by the machine pool's
// provider, usually deleted with the machine.
type EmptyDiskVolumeSource struct {
	// SizeLimit is the size of the disk; unset means no limit is given.
	// +optional
	SizeLimit *resource.Quantity `json:"sizeLimit,omitempty"`
}

// LocalDiskVolumeSource is a disk provided by the machine pool's provider,
// usually deleted with the machine, optionally populated from an image.
type LocalDiskVolumeSource struct {
	// SizeLimit is the size of the disk; unset means no limit is given.
	// +optional
	SizeLimit *resource.Quantity `json:"sizeLimit,omitempty"`
	// Image is the URL of an operating system image to populate the disk with.
	// +optional
	Image string `json:"image,omitempty"`
}

// NetworkInterfaceState is the attachment state of a Machine's network interface.
// +kubebuilder:validation:Enum=Pending;Attached
type NetworkInterfaceState string

const (
	// NetworkInterfaceStatePending means the interface is not attached yet.
	NetworkInterfaceStatePending NetworkInterfaceState = "Pending"
	// NetworkInterfaceStateAttached means the interface is attached.
	NetworkInterfaceStateAttached NetworkInterfaceState = "Attached"
)

// NetworkInterfaceStatus is the observed state of one network interface attachment.
type NetworkInterfaceStatus struct {
	// Name of the attachment.
	Name string `json:"name"`
	// Handle of the interface inside the machine pool.
	// +optional
	Handle string `json:"handle,omitempty"`
	// State of the attachment.
	// +optional
	State NetworkInterfaceState `json:"state,omitempty"`
	// NetworkInterfaceRef is the attached NetworkInterface.
	// +optional
	NetworkInterfaceRef corev1.LocalObjectReference `json:"networkInterfaceRef,omitempty"`
	// LastStateTransitionTime is when State last changed.
	// +optional
	LastStateTransitionTime *metav1.Time `json:"lastStateTransitionTime,omitempty"`
}

// VolumeState is the attachment state of a Machine's volume.
// +kubebuilder:validation:Enum=Pending;Attached
type VolumeState string

const (
	// VolumeStatePending means the volume is not attached yet.
	VolumeStatePending VolumeState = "Pending"
	// VolumeStateAttached means the volume is attached.
	VolumeStateAttached VolumeState = "Attached"
)

// VolumeStatus is the observed state of one volume attachment.
type VolumeStatus struct {
	// Name of the attachment.
	Name string `json:"name"`
	// Handle of the volume inside the machine pool.
	// +optional
	Handle string `json:"handle,omitempty"`
	// State of the attachment.
	// +optional
	State VolumeState `json:"state,omitempty"`
	// LastStateTransitionTime is when State last changed.
	// +optional
	LastStateTransitionTime *metav1.Time `json:"lastStateTransitionTime,omitempty"`
	// VolumeRef is the attached Volume.
	// +optional
	VolumeRef corev1.LocalObjectReference `json:"volumeRef,omitempty"`
}

// MachineConditionType is the type of a MachineCondition.
type MachineConditionType string

const (
	// MachineScheduled tells whether a MachinePool was chosen for the machine
	// (reasons commonv1alpha1.ReasonScheduled, commonv1alpha1.ReasonUnschedulable).
	// An ironfed addition.
	MachineScheduled MachineConditionType = commonv1alpha1.ConditionTypeScheduled
)

// MachineCondition is one aspect of a machine's state.
type MachineCondition struct {
	// Type of the condition.
	Type MachineConditionType `json:"type"`
	// Status of the condition: True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// Reason is a CamelCase, machine-readable cause of the status.
	// +optional
	Reason string `json:"reason"`
	// Message explains the status to humans.
	// +optional
	Message string `json:"message"`
	// LastTransitionTime is when the status last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// MachineState is the lifecycle state of a Machine.
// +kubebuilder:validation:Enum=Pending;Running;Shutdown;Terminated;Terminating
type MachineState string

const (
	// MachineStatePending means the machine is accepted but not running yet,
	// including while it waits for a MachinePool.
	MachineStatePending MachineState = "Pending"
	// MachineStateRunning means the machine runs in its MachinePool.
	MachineStateRunning MachineState = "Running"
	// MachineStateShutdown means the machine is powered off.
	MachineStateShutdown MachineState = "Shutdown"
	// MachineStateTerminated means the machine stopped for good and cannot be started.
	MachineStateTerminated MachineState = "Terminated"
	// MachineStateTerminating means the machine is being torn down.
	MachineStateTerminating MachineState = "Terminating"
)

// MachineStatus is the observed state of a Machine.
type MachineStatus struct {
	// MachineID is the provider's ID of the machine, as "TYPE://MACHINE_ID".
	// +optional
	MachineID string `json:"machineID,omitempty"`
	// ObservedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions of the machine.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []MachineCondition `json:"conditions,omitempty"`
	// State of the machine.
	// +optional
	// +kubebuilder:default=Pending
	State MachineState `json:"state,omitempty"`
	// NetworkInterfaces are the states of the network interface attachments.
	// +optional
	// +listType=map
	// +listMapKey=name
	NetworkInterfaces []NetworkInterfaceStatus `json:"networkInterfaces,omitempty"`
	// Volumes are the states of the volume attachments.
	// +optional
	// +listType=map
	// +listMapKey=name
	Volumes []VolumeStatus `json:"volumes,omitempty"`
}

// Machine is a virtual or bare-metal machine.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:selectablefield:JSONPath=".spec.machinePoolRef.name"
// +kubebuilder:selectablefield:JSONPath=".spec.machineClassRef.name"
// +kubebuilder:printcolumn:name="MachineClass",type=string,JSONPath=".spec.machineClassRef.name"
// +kubebuilder:printcolumn:name="MachinePool",type=string,JSONPath=".spec.machinePoolRef.name"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Power",type=string,JSONPath=".spec.power",priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Machine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec MachineSpec `json:"spec,omitempty"`
	// Status is the observed state of the Machine. It defaults to {} so that its state defaults to
	// Pending, as on IronCore's apiserver.
	// +kubebuilder:default={}
	Status MachineStatus `json:"status,omitempty"`
}

// MachineList is a list of Machines.
// +kubebuilder:object:root=true
type MachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Machine `json:"items"`
}
