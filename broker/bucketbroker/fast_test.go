package bucketbroker

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/test/brokertest/fakestore"
)

// The fast tier: the bucket broker over a fake client, no cluster.

func fakeBroker(t *testing.T, objs ...client.Object) *Broker {
	s, _ := fakestore.Start(t, Spec(), "bucket", nil, objs...)
	return &Broker{store: s}
}

func bucketClass(name string) *storagev1alpha1.BucketClass {
	return &storagev1alpha1.BucketClass{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// ListBucketClasses lists the classes a Ready pool offers; a create needs a
// class that exists (the one class rule), offered or not.
func TestBucketClasses(t *testing.T) {
	ready := &storagev1alpha1.BucketPool{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	ready.Status.Conditions = []storagev1alpha1.BucketPoolCondition{{Type: "Ready", Status: corev1.ConditionTrue}}
	ready.Status.AvailableBucketClasses = []corev1.LocalObjectReference{{Name: "standard"}}
	down := &storagev1alpha1.BucketPool{ObjectMeta: metav1.ObjectMeta{Name: "b"}}
	down.Status.AvailableBucketClasses = []corev1.LocalObjectReference{{Name: "cold"}}
	// Not Ready as ironfed's poollets say it; classes alone would count as ready (IronCore's
	// bucketpoollet writes nothing else: TestReadPoolOfIronCorePoollets).
	down.Status.Conditions = []storagev1alpha1.BucketPoolCondition{{Type: "Ready", Status: corev1.ConditionFalse}}
	b := fakeBroker(t, bucketClass("standard"), bucketClass("cold"), ready, down)
	ctx := context.Background()
	l, err := b.ListBucketClasses(ctx, &bucketv1alpha1.ListBucketClassesRequest{})
	if err != nil || len(l.BucketClasses) != 1 || l.BucketClasses[0].Name != "standard" {
		t.Fatalf("classes: %v %v; want only standard (cold is offered by a pool that is not Ready)", l, err)
	}
	for class, ok := range map[string]bool{"standard": true, "cold": true, "none": false} {
		_, err := b.CreateBucket(ctx, &bucketv1alpha1.CreateBucketRequest{Bucket: &bucketv1alpha1.Bucket{
			Metadata: &metav1alpha1.ObjectMetadata{}, Spec: &bucketv1alpha1.BucketSpec{Class: class}}})
		if (err == nil) != ok {
			t.Errorf("create with class %s: %v; want ok=%v", class, err, ok)
		}
	}
}

// The access Secret not cached yet is the one rule: served without the
// bytes, ErrIncomplete.
func TestBucketAccessSecret(t *testing.T) {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "access", Namespace: "brokered"}, Data: map[string][]byte{"k": []byte("v")}}
	b := fakeBroker(t, sec)
	x := &storagev1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "brokered"}}
	x.Status.State = storagev1alpha1.BucketStateAvailable
	x.Status.Access = &storagev1alpha1.BucketAccess{Endpoint: "e", SecretRef: &corev1.LocalObjectReference{Name: "access"}}
	got, err := toIRI(b.store.Broker, x)
	if err != nil || string(got.Status.Access.SecretData["k"]) != "v" || got.Status.State != bucketv1alpha1.BucketState_BUCKET_AVAILABLE {
		t.Fatalf("with the Secret: %v %v", got, err)
	}
	x.Status.Access.SecretRef.Name = "late"
	got, err = toIRI(b.store.Broker, x)
	if !errors.Is(err, common.ErrIncomplete) || got.Status.Access.Endpoint != "e" || got.Status.Access.SecretData != nil {
		t.Fatalf("without the Secret: %v %v; want the rest and ErrIncomplete", got, err)
	}
	if refs := secretRefs(x); len(refs) != 1 || refs[0] != "late" {
		t.Fatalf("secret refs %v: the hub must re-send the bucket when the Secret arrives", refs)
	}
}
