// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
)

// PoolTypes implements the PoolAdapter methods that only name types; a pool adapter embeds it and
// adds what talks to its runtime (RuntimeClasses, Usage) and SetStatus (with PoolStatus).
type PoolTypes struct {
	// Name is "MachinePool", "VolumePool" or "BucketPool".
	Name    string
	Classes commonv1alpha1.ClassType
	// Pool returns a new pool object with its spec filled in; Class an empty class object.
	Pool  func() client.Object
	Class func() client.Object
}

func (k PoolTypes) PoolKind() string                    { return k.Name }
func (k PoolTypes) ClassType() commonv1alpha1.ClassType { return k.Classes }
func (k PoolTypes) NewPool() client.Object              { return k.Pool() }

func (k PoolTypes) ClassExists(ctx context.Context, c client.Reader, name string) (bool, error) {
	return ClassExists(ctx, c, k.Class(), name)
}

// PoolStatus points at the status fields of one pool object, so Set serves every pool kind.
type PoolStatus[C any, S ~string] struct {
	Classes               *[]corev1.LocalObjectReference
	Capacity, Allocatable *commonv1alpha1.ResourceList
	Conditions            *[]C
	Accessor              conditions.Accessor[C]
	State                 *S
	// Online and Offline are the states that go with Ready=True and anything else.
	Online, Offline S
}

// Set is PoolAdapter.SetStatus: classes and capacity (unless capacity is nil: keep the last
// known), the Ready condition and the state that goes with it.
func (p PoolStatus[C, S]) Set(classes []string, capacity, allocatable commonv1alpha1.ResourceList, ready conditions.Condition) {
	if capacity != nil {
		*p.Classes = nil
		for _, c := range classes {
			*p.Classes = append(*p.Classes, corev1.LocalObjectReference{Name: c})
		}
		*p.Capacity, *p.Allocatable = capacity, allocatable
	}
	*p.Conditions, _ = conditions.Set(*p.Conditions, p.Accessor, ready)
	*p.State = p.Offline
	if ready.Status == corev1.ConditionTrue {
		*p.State = p.Online
	}
}
