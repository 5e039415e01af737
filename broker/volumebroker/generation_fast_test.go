package volumebroker

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// The fake downstream never sets metadata.generation (as IronCore's apiserver): the IRI
// generation of a volume is still 1 at create and one more per growth, and a refused or
// unchanged expand leaves it.
func TestVolumeIRIGeneration(t *testing.T) {
	b, c := fakeBroker(t, &storagev1alpha1.VolumeClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}})
	ctx := context.Background()
	resp, err := b.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1 << 30}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Volume.Metadata.Id
	if g := resp.Volume.Metadata.Generation; g != 1 {
		t.Fatalf("create answered generation %d, want 1", g)
	}
	for _, step := range []struct {
		bytes int64
		ok    bool
		want  int64
	}{{2 << 30, true, 2}, {2 << 30, true, 2}, {1 << 30, false, 2}, {3 << 30, true, 3}} {
		_, err := b.ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: id, Resources: &volumev1alpha1.VolumeResources{StorageBytes: step.bytes}})
		if (err == nil) != step.ok {
			t.Fatalf("expand to %d: %v", step.bytes, err)
		}
		l, err := b.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: id}})
		if err != nil || len(l.Volumes) != 1 {
			t.Fatalf("list: %v %v", l, err)
		}
		if g := l.Volumes[0].Metadata.Generation; g != step.want {
			t.Fatalf("after expand to %d: IRI generation %d, want %d", step.bytes, g, step.want)
		}
	}
	var v storagev1alpha1.Volume
	if err := c.Get(ctx, client.ObjectKey{Namespace: "brokered", Name: id}, &v); err != nil || v.Generation != 0 {
		t.Fatalf("downstream volume: generation %d, %v; this test needs it 0", v.Generation, err)
	}
}
