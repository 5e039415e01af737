package volumebroker_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/volumebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/test/brokertest"
)

// TestSweepIncomplete: a Volume left without the created label by a crashed
// create is deleted with its encryption Secret once older than the grace
// period; a complete one is kept.
func TestSweepIncomplete(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	clk := clocktesting.NewFakePassiveClock(time.Now())
	e := brokertest.Start(t, "volume", volumebroker.Run, seed, func(o *common.Options) {
		o.PoolName, o.Clock = "vpool", clk
		o.IncompleteSweepInterval, o.IncompleteGracePeriod, o.WriteTimeout = 200*time.Millisecond, 10*time.Second, 5*time.Second // the grace costs no wall time: the test moves the clock
	})
	v := volumev1alpha1.NewVolumeRuntimeClient(e.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	res, err := v.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.VolumeUIDLabel: "complete"}},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1 << 30}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := common.NewID()
	secName := id + volumebroker.EncryptionSuffix
	dv := &storagev1alpha1.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: brokertest.Namespace, Name: id,
		Labels: map[string]string{common.ManagedByLabel: volumebroker.Name, common.UIDLabel: "crashed"}}}
	dv.Spec.VolumeClassRef = &commonv1alpha1.LocalObjectReference{Name: "fast"}
	dv.Spec.Resources = commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")}
	dv.Spec.Encryption = &storagev1alpha1.VolumeEncryption{SecretRef: commonv1alpha1.LocalObjectReference{Name: secName}}
	if err := e.Kube.Create(ctx, dv); err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: brokertest.Namespace, Name: secName,
		Labels:          map[string]string{common.ManagedByLabel: volumebroker.Name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: storagev1alpha1.SchemeGroupVersion.String(), Kind: "Volume", Name: id, UID: dv.UID}}}}
	if err := e.Kube.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(dv.CreationTimestamp.Add(9 * time.Second)) // younger than the grace period (10s)
	brokertest.SweepRounds(t, volumebroker.Name, 3)
	for _, o := range []client.Object{&storagev1alpha1.Volume{}, &corev1.Secret{}} {
		name := id
		if _, ok := o.(*corev1.Secret); ok {
			name = secName
		}
		if err := e.Kube.Get(ctx, client.ObjectKey{Namespace: brokertest.Namespace, Name: name}, o); err != nil {
			t.Fatalf("%T %s swept before the grace period: %v", o, name, err)
		}
	}
	clk.SetTime(time.Now().Add(11 * time.Second))
	deadline := time.Now().Add(30 * time.Second)
	for {
		errV := e.Kube.Get(ctx, client.ObjectKey{Namespace: brokertest.Namespace, Name: id}, &storagev1alpha1.Volume{})
		errS := e.Kube.Get(ctx, client.ObjectKey{Namespace: brokertest.Namespace, Name: secName}, &corev1.Secret{})
		if client.IgnoreNotFound(errV) == nil && errV != nil && client.IgnoreNotFound(errS) == nil && errS != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incomplete volume not swept: volume %v, secret %v", errV, errS)
		}
		time.Sleep(100 * time.Millisecond)
	}
	clk.SetTime(time.Now().Add(time.Hour))
	brokertest.SweepRounds(t, volumebroker.Name, 3)
	list, err := v.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: res.Volume.Metadata.Id}})
	if err != nil || len(list.Volumes) != 1 {
		t.Errorf("complete volume: %v %v", list, err)
	}
}
