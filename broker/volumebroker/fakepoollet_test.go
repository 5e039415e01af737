package volumebroker_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/common/brokertest"
	"github.com/ironfed/ironfed/broker/volumebroker"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/iri/conformance"
)

// runFakePoollet plays a downstream volumepoollet: every brokered volume
// becomes Available with an access handle and its requested size, and gets
// one Normal event.
func runFakePoollet(ctx context.Context, kube client.Client) {
	evented := map[string]bool{}
	for ctx.Err() == nil {
		var list storagev1alpha1.VolumeList
		if err := kube.List(ctx, &list, client.InNamespace(brokertest.Namespace)); err == nil {
			for i := range list.Items {
				v := &list.Items[i]
				want := v.Status
				want.State = storagev1alpha1.VolumeStateAvailable
				want.Access = &storagev1alpha1.VolumeAccess{Driver: "fake", Handle: "fake/" + v.Name}
				want.Resources = v.Spec.Resources
				if !reflect.DeepEqual(want, v.Status) {
					v.Status = want
					_ = kube.Status().Update(ctx, v)
				}
				if !evented[v.Name] {
					evented[v.Name] = kube.Create(ctx, &corev1.Event{
						ObjectMeta:     metav1.ObjectMeta{Namespace: brokertest.Namespace, Name: v.Name + ".available"},
						InvolvedObject: corev1.ObjectReference{Kind: "Volume", APIVersion: storagev1alpha1.SchemeGroupVersion.String(), Namespace: brokertest.Namespace, Name: v.Name, UID: v.UID},
						Reason:         "Available", Message: "volume available (fake poollet)", Type: corev1.EventTypeNormal,
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

// TestVolumeConformanceWithFakePoollet runs every volume case but snapshots
// (not brokered yet) with a fake downstream poollet.
func TestVolumeConformanceWithFakePoollet(t *testing.T) {
	e := brokertest.Start(t, "volume", volumebroker.Run, seed, func(o *common.Options) { o.PoolName = "vpool" })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); runFakePoollet(ctx, e.Kube) }()
	t.Cleanup(func() { cancel(); <-done })
	report := conformance.RunTests(t, conformance.Config{VolumeEndpoint: "unix://" + e.Socket, Focus: `^volume/`, Skip: `^volume/snapshots$`, WaitTimeout: 20 * time.Second})
	if report.Skipped != 0 {
		t.Errorf("%d cases skipped", report.Skipped)
	}
}
