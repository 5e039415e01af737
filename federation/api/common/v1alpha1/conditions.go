// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

// Condition types and reasons shared across kinds. Each API package also
// declares them with its own typed condition type (e.g. compute's
// MachineConditionType); these untyped strings are for code that handles
// several kinds alike.
const (
	// ConditionTypeReady is the condition type a pool reports its health with:
	// True when it accepts new objects.
	ConditionTypeReady = "Ready"

	// ConditionTypeScheduled is the condition type ironfed's schedulers set on
	// Machines, Volumes and Buckets. IronCore has no such condition; it is an
	// ironfed addition.
	ConditionTypeScheduled = "Scheduled"
	// ReasonScheduled is the reason of a True Scheduled condition: a pool was chosen.
	ReasonScheduled = "Scheduled"
	// ReasonUnschedulable is the reason of a False Scheduled condition: no pool fits.
	ReasonUnschedulable = "Unschedulable"
)

// Condition types ironfed's poollets and brokers set on Machines, Volumes and Buckets, in addition
// to Scheduled; IronCore has none of them.
const (
	// ConditionTypePrerequisitesMet says whether everything the object refers to is available
	// (set by the poollet).
	ConditionTypePrerequisitesMet = "PrerequisitesMet"
	// ConditionTypeRuntimeSynced says whether the poollet's last runtime call for the object
	// succeeded.
	ConditionTypeRuntimeSynced = "RuntimeSynced"
	// ConditionTypeDownstreamSynced is how a brokered Machine fares further down the chain: a
	// broker derives it from its downstream counterpart (the first False of DownstreamSynced,
	// Scheduled, PrerequisitesMet and RuntimeSynced there, the message prefixed with the
	// downstream's name), and the poollet above copies it in like any runtime condition.
	ConditionTypeDownstreamSynced = "DownstreamSynced"
)
