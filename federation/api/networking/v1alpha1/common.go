// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import "k8s.io/apimachinery/pkg/runtime"

// Field paths usable as field selectors (CRD selectableFields) and as cache
// index names.
const (
	// NetworkInterfaceNetworkRefNameField is the name of the Network a NetworkInterface is in.
	NetworkInterfaceNetworkRefNameField = "spec.networkRef.name"
)

// EphemeralPrefixSource asks for an ipam.ironcore.dev Prefix to be created
// with (and deleted together with) the surrounding object.
type EphemeralPrefixSource struct {
	// PrefixTemplate is the template of the Prefix: an ipam.ironcore.dev/v1alpha1
	// PrefixTemplateSpec ({"metadata": ..., "spec": {"ipFamily", "prefix",
	// "prefixLength", "parentRef", "parentSelector"}}). ironfed does not model
	// the ipam group and carries the template as is.
	// +optional
	PrefixTemplate *runtime.RawExtension `json:"prefixTemplate,omitempty"`
}

// EphemeralVirtualIPSource asks for a VirtualIP to be created with (and
// deleted together with) the surrounding object.
type EphemeralVirtualIPSource struct {
	// VirtualIPTemplate is the template of the VirtualIP: a
	// networking.ironcore.dev/v1alpha1 VirtualIPTemplateSpec ({"metadata": ...,
	// "spec": {"type", "ipFamily", ...}}). ironfed does not serve VirtualIPs
	// and carries the template as is.
	// +optional
	VirtualIPTemplate *runtime.RawExtension `json:"virtualIPTemplate,omitempty"`
}
