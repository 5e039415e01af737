// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// Field paths usable as field selectors (the Machine CRD declares them as
// selectableFields) and as cache index names.
const (
	// MachinePoolRefNameField is the name of the MachinePool a Machine is bound to.
	MachinePoolRefNameField = "spec.machinePoolRef.name"
	// MachineClassRefNameField is the name of a Machine's MachineClass.
	MachineClassRefNameField = "spec.machineClassRef.name"

	// MachineMachinePoolRefNameField is MachinePoolRefNameField under IronCore's name.
	MachineMachinePoolRefNameField = MachinePoolRefNameField
	// MachineMachineClassRefNameField is MachineClassRefNameField under IronCore's name.
	MachineMachineClassRefNameField = MachineClassRefNameField
)

// MachinePoolletFinalizer is the finalizer (upstream's name) the machinepoollet keeps on the
// Machines bound to its pool until the runtime confirmed their deletion.
const MachinePoolletFinalizer = "machinepoollet.ironcore.dev/machine"

// EphemeralNetworkInterfaceSource creates a NetworkInterface that lives and
// dies with the Machine.
type EphemeralNetworkInterfaceSource struct {
	// NetworkInterfaceTemplate describes the NetworkInterface to create.
	// +required
	NetworkInterfaceTemplate *networkingv1alpha1.NetworkInterfaceTemplateSpec `json:"networkInterfaceTemplate,omitempty"`
}

// EphemeralVolumeSource creates a Volume that lives and dies with the Machine.
// +kubebuilder:validation:XValidation:rule="!has(self.volumeTemplate) || !has(self.volumeTemplate.spec) || (!has(self.volumeTemplate.spec.claimRef) && !(has(self.volumeTemplate.spec.unclaimable) && self.volumeTemplate.spec.unclaimable))",message="volumeTemplate must not set claimRef or unclaimable"
type EphemeralVolumeSource struct {
	// VolumeTemplate describes the Volume to create. It must not set claimRef
	// or unclaimable: the Machine claims the volume.
	// +required
	VolumeTemplate *storagev1alpha1.VolumeTemplateSpec `json:"volumeTemplate,omitempty"`
}
