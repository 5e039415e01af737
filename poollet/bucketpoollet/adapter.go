// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package bucketpoollet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/poollet/core"
)

// Finalizer is upstream's bucketpoollet finalizer.
const Finalizer = storagev1alpha1.BucketPoolletFinalizer

// Condition and reason of the prerequisites a Bucket waits for.
const (
	ConditionPrerequisitesMet   = core.ConditionPrerequisitesMet
	ReasonWaitingForBucketClass = "WaitingForBucketClass"
)

// AccessSecretName is upstream's name of the Secret holding a bucket's access credentials: the
// first 63 hex characters of sha256(<bucket name>).
func AccessSecretName(bucketName string) string { return core.HashedName(bucketName) }

type adapter struct {
	rt remote.BucketRuntime
}

// The capabilities this kind has (the core detects them; these make a signature slip a
// compile error instead of a silently missing capability).
var (
	_ core.Adapter[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket] = (*adapter)(nil)
	_ core.EventLister                                              = (*adapter)(nil)
)

func (*adapter) Kind() labels.Kind            { return labels.Bucket }
func (*adapter) New() *storagev1alpha1.Bucket { return &storagev1alpha1.Bucket{} }
func (*adapter) Finalizer() string            { return Finalizer }

func (*adapter) Prepare(_ context.Context, _ client.Reader, b *storagev1alpha1.Bucket) (*bucketv1alpha1.Bucket, *core.Waiting, error) {
	out := &bucketv1alpha1.Bucket{Metadata: &metav1alpha1.ObjectMetadata{}, Spec: &bucketv1alpha1.BucketSpec{}}
	if b.Spec.BucketClassRef == nil {
		return out, &core.Waiting{Reason: ReasonWaitingForBucketClass, Message: "Waiting: the bucket has no bucket class"}, nil
	}
	out.Spec.Class = b.Spec.BucketClassRef.Name
	return out, nil, nil
}

func (a *adapter) Create(ctx context.Context, desired *bucketv1alpha1.Bucket) (*bucketv1alpha1.Bucket, error) {
	res, err := a.rt.CreateBucket(ctx, &bucketv1alpha1.CreateBucketRequest{Bucket: desired})
	return res.GetBucket(), err
}

func (a *adapter) Delete(ctx context.Context, id string) error {
	_, err := a.rt.DeleteBucket(ctx, &bucketv1alpha1.DeleteBucketRequest{BucketId: id})
	return err
}

var states = map[bucketv1alpha1.BucketState]storagev1alpha1.BucketState{
	bucketv1alpha1.BucketState_BUCKET_PENDING:   storagev1alpha1.BucketStatePending,
	bucketv1alpha1.BucketState_BUCKET_AVAILABLE: storagev1alpha1.BucketStateAvailable,
	bucketv1alpha1.BucketState_BUCKET_ERROR:     storagev1alpha1.BucketStateError,
}

// ApplyStatus copies state and endpoint; the credentials go into an owned Secret.
func (*adapter) ApplyStatus(ctx context.Context, c client.Client, b *storagev1alpha1.Bucket, actual *bucketv1alpha1.Bucket, runtimeName string, _ bool) error {
	b.Status.BucketID = runtimeName + "://" + actual.GetMetadata().GetId()
	if s := states[actual.GetStatus().GetState()]; s != b.Status.State {
		now := metav1.Now()
		b.Status.State, b.Status.LastStateTransitionTime = s, &now
	}
	acc := actual.GetStatus().GetAccess()
	if acc == nil {
		b.Status.Access = nil
		return nil
	}
	access := &storagev1alpha1.BucketAccess{Endpoint: acc.GetEndpoint()}
	if len(acc.GetSecretData()) > 0 {
		name := AccessSecretName(b.Name)
		if err := core.EnsureSecret(ctx, c, b, name, map[string]string{labels.BucketUIDLabel: string(b.UID)}, acc.GetSecretData()); err != nil {
			return err
		}
		access.SecretRef = &corev1.LocalObjectReference{Name: name}
	}
	b.Status.Access = access
	return nil
}

func (*adapter) SetCondition(b *storagev1alpha1.Bucket, c conditions.Condition) {
	b.Status.Conditions, _ = conditions.Set(b.Status.Conditions, conditions.Bucket, c)
}

func (a *adapter) ListEvents(ctx context.Context, from, to int64) ([]*eventv1alpha1.Event, error) {
	res, err := a.rt.ListEvents(ctx, &bucketv1alpha1.ListEventsRequest{Filter: &bucketv1alpha1.EventFilter{EventsFromTime: from, EventsToTime: to}})
	return res.GetEvents(), err
}
