// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Well-known labels shared by all pools and the objects scheduled onto them.
const (
	// TopologyRegionLabel names the region a MachinePool, VolumePool or BucketPool is in.
	// Machines, Volumes and Buckets may select pools by it.
	TopologyRegionLabel = "topology.ironcore.dev/region"
	// TopologyZoneLabel names the zone a MachinePool, VolumePool or BucketPool is in.
	// Machines, Volumes and Buckets may select pools by it.
	TopologyZoneLabel = "topology.ironcore.dev/zone"
)

// LocalObjectReference points at an object of a known kind in the same
// namespace (or, for cluster-scoped kinds, at a cluster-scoped object).
//
// Its JSON is identical to k8s.io/api/core/v1.LocalObjectReference ({"name": ...});
// unlike that type, the name is required and must not be empty, so the
// apiserver rejects references that point nowhere.
// +structType=atomic
type LocalObjectReference struct {
	// Name of the referenced object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ConfigMapKeySelector selects one key of a ConfigMap.
// +structType=atomic
type ConfigMapKeySelector struct {
	// Name of the ConfigMap.
	// +optional
	Name string `json:"name,omitempty"`
	// Key within the ConfigMap's data. Whether it may be left empty (and what
	// it then defaults to) depends on the field using the selector.
	// +optional
	Key string `json:"key,omitempty"`
}

// SecretKeySelector selects one key of a Secret.
// +structType=atomic
type SecretKeySelector struct {
	// Name of the Secret.
	// +optional
	Name string `json:"name,omitempty"`
	// Key within the Secret's data. Whether it may be left empty (and what
	// it then defaults to) depends on the field using the selector.
	// +optional
	Key string `json:"key,omitempty"`
}

// LocalUIDReference points at an object in the same namespace and pins its UID,
// so that a recreated object of the same name is not mistaken for the original.
// +structType=atomic
type LocalUIDReference struct {
	// Name of the referenced object.
	Name string `json:"name"`
	// UID of the referenced object.
	UID types.UID `json:"uid"`
}

// LocalUIDReferenceTo returns a LocalUIDReference to obj.
func LocalUIDReferenceTo(obj metav1.Object) LocalUIDReference {
	return LocalUIDReference{Name: obj.GetName(), UID: obj.GetUID()}
}

// UIDReference points at an object, possibly in another namespace, and pins its UID.
// +structType=atomic
type UIDReference struct {
	// Namespace of the referenced object. Empty means the namespace of the
	// referring object.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the referenced object.
	Name string `json:"name"`
	// UID of the referenced object.
	// +optional
	UID types.UID `json:"uid,omitempty"`
}

// IP is a single IP address in its textual form ("10.0.0.1", "fd00::1").
//
// IronCore models this as a struct around netip.Addr that marshals to the
// same JSON string; ironfed keeps the plain string.
type IP string

// Addr parses the address.
func (ip IP) Addr() (netip.Addr, error) { return netip.ParseAddr(string(ip)) }

// IPFromAddr returns the textual form of addr.
func IPFromAddr(addr netip.Addr) IP { return IP(addr.String()) }

// IPPrefix is a network prefix in CIDR notation ("10.0.0.0/24", "fd00::/64").
//
// IronCore models this as a struct around netip.Prefix that marshals to the
// same JSON string; ironfed keeps the plain string.
type IPPrefix string

// Prefix parses the prefix.
func (p IPPrefix) Prefix() (netip.Prefix, error) { return netip.ParsePrefix(string(p)) }

// IPPrefixFromPrefix returns the textual form of prefix.
func IPPrefixFromPrefix(prefix netip.Prefix) IPPrefix { return IPPrefix(prefix.String()) }

// TaintEffect says what a taint does to objects that do not tolerate it.
// +kubebuilder:validation:Enum=NoSchedule;NoExecute
type TaintEffect string

const (
	// TaintEffectNoSchedule keeps new objects that do not tolerate the taint
	// off the pool; objects already placed there stay.
	TaintEffectNoSchedule TaintEffect = "NoSchedule"
	// TaintEffectNoExecute keeps new objects that do not tolerate the taint
	// off the pool and also evicts those already placed there.
	TaintEffectNoExecute TaintEffect = "NoExecute"
)

// Taint marks a pool so that only objects tolerating it are placed there.
type Taint struct {
	// Key of the taint.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// Value of the taint.
	// +optional
	Value string `json:"value,omitempty"`
	// Effect on objects that do not tolerate the taint.
	Effect TaintEffect `json:"effect"`
}

// TolerationOperator relates a toleration's key to its value.
// +kubebuilder:validation:Enum=Equal;Exists
type TolerationOperator string

const (
	// TolerationOpEqual matches taints whose value equals the toleration's value.
	TolerationOpEqual TolerationOperator = "Equal"
	// TolerationOpExists matches taints with the key, whatever their value.
	TolerationOpExists TolerationOperator = "Exists"
)

// Toleration lets an object be placed on a pool that carries matching taints.
type Toleration struct {
	// Key of the taints to tolerate. Empty matches every key; then the
	// operator must be Exists.
	// +optional
	Key string `json:"key,omitempty"`
	// Operator relating key and value. Empty means Equal.
	// +optional
	Operator TolerationOperator `json:"operator,omitempty"`
	// Value the taint must have when the operator is Equal. Must be empty
	// when the operator is Exists.
	// +optional
	Value string `json:"value,omitempty"`
	// Effect of the taints to tolerate. Empty matches every effect.
	// +optional
	Effect TaintEffect `json:"effect,omitempty"`
}

// ToleratesTaint reports whether t tolerates taint, using the matching rules of
// Kubernetes node tolerations: an empty effect or key matches any, Exists
// matches any value, and an empty operator means Equal.
func (t *Toleration) ToleratesTaint(taint *Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case TolerationOpExists:
		return true
	case "", TolerationOpEqual:
		return t.Value == taint.Value
	default:
		return false
	}
}

// TolerateTaints reports whether every taint is tolerated by at least one of
// the tolerations.
func TolerateTaints(tolerations []Toleration, taints []Taint) bool {
	for i := range taints {
		tolerated := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(&taints[i]) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return false
		}
	}
	return true
}
