// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package core is what the machine, volume and bucket poollets share: the pool announcer and
// heartbeat, the reconciler of objects bound to the pool, the IRI index and event forwarding.
// Each poollet is a pair of small adapters over it.
package core

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// SecretWatch is the object to watch Secrets with: metadata only, since the poollet reads Secret
// data live (it never caches Secrets) and only needs to know that one changed.
func SecretWatch() client.Object { return MetadataWatch(corev1.SchemeGroupVersion.WithKind("Secret")) }

// MetadataWatch is the object to watch a kind with when only its changes matter, not its content:
// the cache then holds object metadata only. Pair it with LiveReader when the content is read.
func MetadataWatch(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

// Index is a field index on the cache of bound objects, so a Watch's Map can list exactly the
// objects that refer to something instead of scanning the namespace.
type Index struct {
	Field   string
	Extract client.IndexerFunc
}

// Adapter is what the reconciler needs to know about every kind: K is the Kubernetes object
// (Machine, Volume, Bucket), I the IRI object. What only some kinds can do is an optional
// capability below, detected once (virtual-kubelet's PodLifecycleHandler + PodNotifier pattern):
// a new kind implements what it supports and needs no change here.
type Adapter[K client.Object, I remote.Object] interface {
	Kind() labels.Kind
	New() K
	Finalizer() string
	// Prepare checks prerequisites and builds the IRI object to create; labels and annotations
	// are filled in by the caller. A non-nil Waiting means the object cannot be created yet.
	Prepare(ctx context.Context, c client.Reader, obj K) (I, *Waiting, error)
	Create(ctx context.Context, desired I) (I, error)
	Delete(ctx context.Context, id string) error
	// ApplyStatus copies actual's status into obj and creates what the status refers to (access
	// Secrets). observed is false while the runtime has not observed the spec last sent (see
	// GenerationTracker); kinds without one always get true.
	ApplyStatus(ctx context.Context, c client.Client, obj K, actual I, runtimeName string, observed bool) error
	// SetCondition sets one of obj's status conditions.
	SetCondition(obj K, c conditions.Condition)
}

// Updater is implemented by kinds whose IRI spec can change after create (power, attachments,
// size). Update brings actual towards desired and reports whether it changed the IRI spec.
type Updater[K client.Object, I remote.Object] interface {
	Update(ctx context.Context, obj K, desired, actual I) (bool, error)
}

// AnnotationUpdater is implemented by kinds whose runtime can replace an IRI object's
// annotations after create (UpdateMachineAnnotations). Without it, annotations are set at create
// only.
type AnnotationUpdater interface {
	SetAnnotations(ctx context.Context, id string, annotations map[string]string) error
}

// GenerationTracker is implemented by kinds whose runtime reports an observed generation: status
// is copied back only once the runtime observed the spec the poollet last sent, and the
// generations are recorded in the IRI object's annotations (upstream's machine-generation /
// irimachine-generation pair).
type GenerationTracker[K client.Object, I remote.Object] interface {
	// ObservedCurrent reports whether the runtime has observed actual's recorded spec generation.
	ObservedCurrent(actual I) bool
	// GenerationAnnotations records obj's generation and the IRI generation its spec has.
	GenerationAnnotations(obj K, iriGeneration int64) map[string]string
	// RecordedIRIGeneration returns the IRI generation recorded in annotations for obj's current
	// generation, if the spec was already recorded at it.
	RecordedIRIGeneration(obj K, annotations map[string]string) (int64, bool)
}

// SecondaryWatcher is implemented by kinds that depend on other objects (ignition Secrets,
// Volumes, NetworkInterfaces): their changes re-reconcile the bound objects.
type SecondaryWatcher interface {
	// Watches lists secondary kinds; c reads the pool-scoped cache.
	Watches(c client.Reader) []Watch
	// Indexes are registered on the cache of bound objects before it starts.
	Indexes() []Index
}

// LiveReader is implemented by kinds whose Prepare reads secondary objects that a cache would
// hold cluster-wide (every Volume of the cluster, for the few a pool's machines use): the
// manager's client reads these kinds from the apiserver instead; watch them with MetadataWatch.
// Secrets are always read live.
type LiveReader interface {
	ReadLive() []client.Object
}

// EventLister is implemented by kinds whose runtime has ListEvents; the events are recorded on
// the Kubernetes objects they are about.
type EventLister interface {
	ListEvents(ctx context.Context, from, to int64) ([]*eventv1alpha1.Event, error)
}

// capabilities are an adapter's optional interfaces, detected once; nil where not implemented.
type capabilities[K client.Object, I remote.Object] struct {
	updater     Updater[K, I]
	annotations AnnotationUpdater
	generations GenerationTracker[K, I]
	watches     SecondaryWatcher
	events      EventLister
	live        LiveReader
	compact     CacheCompactor[K]
}

func detect[K client.Object, I remote.Object](a Adapter[K, I]) capabilities[K, I] {
	var c capabilities[K, I]
	c.updater, _ = a.(Updater[K, I])
	c.annotations, _ = a.(AnnotationUpdater)
	c.generations, _ = a.(GenerationTracker[K, I])
	c.watches, _ = a.(SecondaryWatcher)
	c.events, _ = a.(EventLister)
	c.live, _ = a.(LiveReader)
	c.compact, _ = a.(CacheCompactor[K])
	return c
}
