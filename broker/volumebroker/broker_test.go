package volumebroker_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/volumebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/conformance"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/brokertest"
)

func init() { ctrllog.SetLogger(logr.Discard()) }

func seed(ctx context.Context, kube client.Client) error {
	p := &storagev1alpha1.VolumePool{ObjectMeta: metav1.ObjectMeta{Name: "vpool"}}
	p.Status.Conditions = []storagev1alpha1.VolumePoolCondition{{Type: "Ready", Status: corev1.ConditionTrue, Reason: "Test", Message: "seeded"}}
	p.Status.Capacity = commonv1alpha1.ResourceList{commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeVolumeClass, "fast"): resource.MustParse("100Gi")}
	return brokertest.SeedPool(ctx, kube, &storagev1alpha1.VolumeClass{
		ObjectMeta:   metav1.ObjectMeta{Name: "fast"},
		Capabilities: commonv1alpha1.ResourceList{commonv1alpha1.ResourceTPS: resource.MustParse("100Mi"), commonv1alpha1.ResourceIOPS: resource.MustParse("1000")},
	}, p)
}

func TestVolumeBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	e := brokertest.Start(t, "volume", volumebroker.Run, seed, func(o *common.Options) { o.PoolName = "vpool" })
	v := volumev1alpha1.NewVolumeRuntimeClient(e.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	st, err := v.Status(ctx, &volumev1alpha1.StatusRequest{})
	if err != nil || len(st.VolumeClassStatus) != 1 || st.VolumeClassStatus[0].Quantity != 100<<30 || st.VolumeClassStatus[0].VolumeClass.Capabilities.Iops != 1000 {
		t.Fatalf("Status: %v %v", st, err)
	}
	lbl := map[string]string{labels.VolumeUIDLabel: "vol-uid", "x": "y"}
	req := &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: lbl, Annotations: map[string]string{"a": "b"}},
		Spec: &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1 << 30},
			Encryption: &volumev1alpha1.EncryptionSpec{SecretData: map[string][]byte{"key": []byte("k")}}},
	}}
	var wg sync.WaitGroup
	ids := make([]string, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := v.CreateVolume(ctx, req); err == nil {
				ids[i] = r.Volume.Metadata.Id
			} else {
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	id := ids[0]
	for i := range ids {
		if ids[i] != id {
			t.Fatalf("concurrent creates with one UID got ids %v", ids)
		}
	}
	var dv storagev1alpha1.Volume
	if err := e.Kube.Get(ctx, client.ObjectKey{Namespace: brokertest.Namespace, Name: id}, &dv); err != nil {
		t.Fatal(err)
	}
	if dv.Spec.VolumePoolRef == nil || dv.Spec.VolumePoolRef.Name != "vpool" || dv.Spec.Encryption == nil || dv.Labels[common.CreatedLabel] != "true" {
		t.Errorf("downstream volume: %+v", dv)
	}
	var sec corev1.Secret
	if err := e.Kube.Get(ctx, client.ObjectKey{Namespace: brokertest.Namespace, Name: dv.Spec.Encryption.SecretRef.Name}, &sec); err != nil || sec.OwnerReferences[0].UID != dv.UID {
		t.Errorf("encryption secret: %v %v", sec.OwnerReferences, err)
	}
	list, err := v.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{LabelSelector: map[string]string{"x": "y"}}})
	if err != nil || len(list.Volumes) != 1 || !maps.Equal(list.Volumes[0].Metadata.Labels, lbl) || string(list.Volumes[0].Spec.Encryption.SecretData["key"]) != "k" {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := v.ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: id, Resources: &volumev1alpha1.VolumeResources{StorageBytes: 2 << 30}}); err != nil {
		t.Fatal(err)
	}
	list, _ = v.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: id}})
	if len(list.Volumes) != 1 || list.Volumes[0].Spec.Resources.StorageBytes != 2<<30 {
		t.Errorf("after expand: %v", list)
	}
	_, err = v.ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: id, Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1 << 30}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("shrink: %v", err)
	}
	if _, err := v.DeleteVolume(ctx, &volumev1alpha1.DeleteVolumeRequest{VolumeId: id}); err != nil {
		t.Fatal(err)
	}
	list, _ = v.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{})
	if len(list.Volumes) != 0 {
		t.Errorf("after delete: %v", list)
	}
}

// TestVolumeConformance runs the volume cases against the broker, with the real
// controller-manager and volumepoollet (over a memory provider) serving the
// downstream pool, so volumes and snapshots really become Available and Ready.
func TestVolumeConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	e := brokertest.Start(t, "volume", volumebroker.Run, seed, func(o *common.Options) { o.PoolName = "vpool" })
	brokertest.RunDownstream(t, e.Cluster.Config, "volume", "vpool", memory.DefaultConfig())
	ccfg := conformance.Config{VolumeEndpoint: "unix://" + e.Socket, Focus: `^volume/`, WaitTimeout: 30 * time.Second}
	report := conformance.RunTests(t, ccfg)
	if report.Skipped != 0 {
		t.Errorf("%d cases skipped", report.Skipped)
	}
	// The hostile-input probe (issue 18): precise codes, nothing half-created.
	if rep := conformance.RunSuiteTests(t, ccfg, conformance.HostileSuite()); rep.Passed != 1 {
		t.Errorf("hostile inputs: %s", rep.Totals())
	}

	t.Run("access credentials come up from the leaf", func(t *testing.T) {
		// The leaf provider's credentials sit in a Secret the downstream volumepoollet writes;
		// the broker must hand them up, or a machine upstream could not use the volume.
		v := volumev1alpha1.NewVolumeRuntimeClient(e.Conn)
		ctx := t.Context()
		created, err := v.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
			Metadata: &metav1alpha1.ObjectMetadata{Labels: map[string]string{labels.VolumeUIDLabel: "creds"}},
			Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1 << 30}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		id := created.GetVolume().GetMetadata().GetId()
		var data map[string][]byte
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			l, err := v.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: id}})
			if err == nil && len(l.Volumes) == 1 && len(l.Volumes[0].GetStatus().GetAccess().GetSecretData()) > 0 {
				data = l.Volumes[0].GetStatus().GetAccess().GetSecretData()
				break
			}
		}
		if len(data["userID"]) == 0 || len(data["userKey"]) == 0 {
			t.Fatalf("volume %s: access secret data %v, want the leaf's userID and userKey", id, data)
		}
	})
}
