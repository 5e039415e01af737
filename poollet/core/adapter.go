// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package core is what the machine, volume and bucket poollets share: the pool announcer and
// heartbeat, the reconciler of objects bound to the pool, the IRI index and event forwarding.
// Each poollet is a pair of small adapters over it.
package core

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/ironfed/ironfed/federation/api/conditions"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

// Waiting says which prerequisites an object still waits for; nil means none.
type Waiting struct {
	Reason  string
	Message string
}

// Watch is a secondary kind whose changes re-reconcile bound objects (ignition Secrets,
// Volumes, NetworkInterfaces of a Machine).
type Watch struct {
	Object client.Object
	Map    handler.MapFunc
}

// Index is a field index on the cache of bound objects, so a Watch's Map can list exactly the
// objects that refer to something instead of scanning the namespace.
type Index struct {
	Field   string
	Extract client.IndexerFunc
}

// Adapter is what the reconciler needs to know about one kind: K is the Kubernetes object
// (Machine, Volume, Bucket), I the IRI object.
type Adapter[K client.Object, I remote.Object] interface {
	Kind() labels.Kind
	New() K
	Finalizer() string
	// Prepare checks prerequisites and builds the IRI object to create; labels and annotations
	// are filled in by the caller. A non-nil Waiting means the object cannot be created yet.
	Prepare(ctx context.Context, c client.Reader, obj K) (I, *Waiting, error)
	Create(ctx context.Context, desired I) (I, error)
	// Update brings actual towards desired (power, attachments, size). It reports whether it
	// changed the IRI spec.
	Update(ctx context.Context, obj K, desired, actual I) (bool, error)
	Delete(ctx context.Context, id string) error
	// SetAnnotations replaces the IRI object's annotations (machines only; others return nil).
	SetAnnotations(ctx context.Context, id string, annotations map[string]string) error
	// ObservedCurrent reports whether the runtime has observed actual's spec generation.
	ObservedCurrent(actual I) bool
	// ApplyStatus copies actual's status into obj (actual may be nil-valued: not created yet)
	// and creates what the status refers to (access Secrets).
	ApplyStatus(ctx context.Context, c client.Client, obj K, actual I, runtimeName string, observed bool) error
	// SetCondition sets one of obj's status conditions.
	SetCondition(obj K, c conditions.Condition)
	// Watches lists secondary kinds; c reads the pool-scoped cache.
	Watches(c client.Reader) []Watch
	// Indexes are registered on the cache of bound objects before it starts.
	Indexes() []Index
	ListEvents(ctx context.Context, fromUnixNano, toUnixNano int64) ([]*eventv1alpha1.Event, error)
}
