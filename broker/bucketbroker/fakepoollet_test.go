package bucketbroker_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/bucketbroker"
	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/common/brokertest"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/iri/conformance"
)

// runFakePoollet plays a downstream bucketpoollet: every brokered bucket
// gets an access Secret, becomes Available with an endpoint, and gets one
// Normal event.
func runFakePoollet(ctx context.Context, kube client.Client) {
	evented := map[string]bool{}
	for ctx.Err() == nil {
		var list storagev1alpha1.BucketList
		if err := kube.List(ctx, &list, client.InNamespace(brokertest.Namespace)); err == nil {
			for i := range list.Items {
				b := &list.Items[i]
				secret := "access-" + b.Name
				_ = client.IgnoreAlreadyExists(kube.Create(ctx, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: brokertest.Namespace, Name: secret},
					Data:       map[string][]byte{"AccessKeyID": []byte("ak-" + b.Name), "SecretAccessKey": []byte("sk")},
				}))
				want := b.Status
				want.State = storagev1alpha1.BucketStateAvailable
				want.Access = &storagev1alpha1.BucketAccess{Endpoint: b.Name + ".s3.fake", SecretRef: &corev1.LocalObjectReference{Name: secret}}
				if !reflect.DeepEqual(want, b.Status) {
					b.Status = want
					_ = kube.Status().Update(ctx, b)
				}
				if !evented[b.Name] {
					evented[b.Name] = kube.Create(ctx, &corev1.Event{
						ObjectMeta:     metav1.ObjectMeta{Namespace: brokertest.Namespace, Name: b.Name + ".available"},
						InvolvedObject: corev1.ObjectReference{Kind: "Bucket", APIVersion: storagev1alpha1.SchemeGroupVersion.String(), Namespace: brokertest.Namespace, Name: b.Name, UID: b.UID},
						Reason:         "Available", Message: "bucket available (fake poollet)", Type: corev1.EventTypeNormal,
						FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
					}) == nil
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestBucketConformanceWithFakePoollet runs every bucket case with a fake
// downstream poollet.
func TestBucketConformanceWithFakePoollet(t *testing.T) {
	e := brokertest.Start(t, "bucket", bucketbroker.Run, seed, func(o *common.Options) { o.PoolName = "bpool" })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); runFakePoollet(ctx, e.Kube) }()
	t.Cleanup(func() { cancel(); <-done })
	report := conformance.RunTests(t, conformance.Config{BucketEndpoint: "unix://" + e.Socket, Focus: `^bucket/`, WaitTimeout: 20 * time.Second})
	if report.Skipped != 0 {
		t.Errorf("%d cases skipped", report.Skipped)
	}
}
