// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ResourceName names a resource whose amount is given by a resource.Quantity.
type ResourceName string

const (
	// ResourceCPU is an amount of CPU, in cores.
	ResourceCPU ResourceName = "cpu"
	// ResourceMemory is an amount of memory, in bytes.
	ResourceMemory ResourceName = "memory"
	// ResourceStorage is an amount of storage, in bytes.
	ResourceStorage ResourceName = "storage"
	// ResourceTPS is a throughput limit, in bytes per second.
	ResourceTPS ResourceName = "tps"
	// ResourceIOPS is a limit of input/output operations per second.
	ResourceIOPS ResourceName = "iops"
)

// ClassPrefix starts every pool capacity key that counts instances of a class.
//
// A pool's capacity and allocatable lists may carry, besides plain resources,
// one entry per class it offers: the number of objects of that class it can
// (still) hold. The key is ClassPrefix + class type + "." + class name, e.g.
// "class/machine.x3-xlarge" — the format IronCore's core/v1alpha1.ClassCountFor uses.
const ClassPrefix = "class/"

// ClassType is the kind of class a class-count resource counts.
type ClassType string

const (
	// ClassTypeMachineClass counts Machines of a MachineClass.
	ClassTypeMachineClass ClassType = "machine"
	// ClassTypeVolumeClass counts Volumes of a VolumeClass.
	ClassTypeVolumeClass ClassType = "volume"
	// ClassTypeBucketClass counts Buckets of a BucketClass. IronCore has no
	// such constant; ironfed adds it for capacity-based bucket scheduling.
	ClassTypeBucketClass ClassType = "bucket"
)

// ClassCountFor returns the pool capacity key counting objects of the class
// named className: "class/<classType>.<className>".
func ClassCountFor(classType ClassType, className string) ResourceName {
	return ResourceName(ClassPrefix + string(classType) + "." + className)
}

// IsClassCountResource reports whether name is a class-count key (see ClassCountFor).
func IsClassCountResource(name ResourceName) bool {
	return strings.HasPrefix(string(name), ClassPrefix)
}

// ParseClassCount splits a class-count key into class type and class name.
// ok is false if name is not a class-count key.
func ParseClassCount(name ResourceName) (classType ClassType, className string, ok bool) {
	rest, found := strings.CutPrefix(string(name), ClassPrefix)
	if !found {
		return "", "", false
	}
	t, n, found := strings.Cut(rest, ".")
	if !found || t == "" || n == "" {
		return "", "", false
	}
	return ClassType(t), n, true
}

// ResourceList maps resource names to amounts. In JSON each amount is a
// Kubernetes quantity (a string such as "4Gi" or a number).
type ResourceList map[ResourceName]resource.Quantity

// Name returns a copy of the amount of name, or a zero quantity in
// defaultFormat if the list does not contain it.
func (rl ResourceList) Name(name ResourceName, defaultFormat resource.Format) *resource.Quantity {
	if q, ok := rl[name]; ok {
		return &q
	}
	return &resource.Quantity{Format: defaultFormat}
}

// CPU returns the amount of ResourceCPU.
func (rl ResourceList) CPU() *resource.Quantity { return rl.Name(ResourceCPU, resource.DecimalSI) }

// Memory returns the amount of ResourceMemory.
func (rl ResourceList) Memory() *resource.Quantity {
	return rl.Name(ResourceMemory, resource.BinarySI)
}

// Storage returns the amount of ResourceStorage.
func (rl ResourceList) Storage() *resource.Quantity {
	return rl.Name(ResourceStorage, resource.BinarySI)
}

// TPS returns the amount of ResourceTPS.
func (rl ResourceList) TPS() *resource.Quantity { return rl.Name(ResourceTPS, resource.DecimalSI) }

// IOPS returns the amount of ResourceIOPS.
func (rl ResourceList) IOPS() *resource.Quantity { return rl.Name(ResourceIOPS, resource.DecimalSI) }
