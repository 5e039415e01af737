package volumebroker

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/test/brokertest/fakestore"
)

// The fast tier: the volume broker over a fake client, no cluster.

func fakeBroker(t *testing.T, objs ...client.Object) (*Broker, client.Client) {
	s, c := fakestore.Start(t, Spec(), "volume", nil, objs...)
	return &Broker{store: s}, c
}

// An encrypted volume round-trips its key through its own Secret; that
// Secret not cached yet is the one rule (ErrIncomplete, re-sent on arrival);
// a volume only grows.
func TestVolumeEncryptionAndExpand(t *testing.T) {
	b, c := fakeBroker(t, &storagev1alpha1.VolumeClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}})
	ctx := context.Background()
	resp, err := b.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{},
		Spec: &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1 << 30},
			Encryption: &volumev1alpha1.EncryptionSpec{SecretData: map[string][]byte{"key": []byte("k")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Volume.Metadata.Id
	l, err := b.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: &volumev1alpha1.VolumeFilter{Id: id}})
	if err != nil || len(l.Volumes) != 1 || string(l.Volumes[0].Spec.Encryption.SecretData["key"]) != "k" {
		t.Fatalf("list: %v %v", l, err)
	}
	var v storagev1alpha1.Volume
	if err := c.Get(ctx, client.ObjectKey{Namespace: "brokered", Name: id}, &v); err != nil {
		t.Fatal(err)
	}
	if refs := secretRefs(&v); len(refs) != 1 || refs[0] != id+EncryptionSuffix {
		t.Fatalf("secret refs %v", refs)
	}
	v.Spec.Encryption.SecretRef.Name = "late"
	got, err := toIRI(b.store.Broker, &v)
	if !errors.Is(err, common.ErrIncomplete) || got.Spec.Encryption == nil || got.Spec.Encryption.SecretData != nil || got.Spec.Class != "fast" {
		t.Fatalf("encryption Secret not cached: %v %v; want the rest and ErrIncomplete", got, err)
	}
	for _, step := range []struct {
		n    int64
		code codes.Code
	}{{1 << 30, codes.OK}, {2 << 30, codes.OK}, {1 << 30, codes.InvalidArgument}, {0, codes.InvalidArgument},
		{storagev1alpha1.MaxVolumeBytes + 1, codes.InvalidArgument}, {math.MaxInt64, codes.InvalidArgument}} {
		n, code := step.n, step.code
		_, err := b.ExpandVolume(ctx, &volumev1alpha1.ExpandVolumeRequest{VolumeId: id, Resources: &volumev1alpha1.VolumeResources{StorageBytes: n}})
		if status.Code(err) != code {
			t.Errorf("expand to %d: %v; want %v", n, err, code)
		}
	}
	_, err = b.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: math.MaxInt64}},
	}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "at most 1125899906842624 (1 PiB)") {
		t.Errorf("create of 2^63-1 bytes: %v; want InvalidArgument naming the limit", err)
	}
}

// Regression (probe): oversized metadata reached the downstream apiserver and came back as
// Internal. It is refused up front, naming the limit, and nothing is created.
func TestOversizedMetadataIsInvalid(t *testing.T) {
	b, c := fakeBroker(t, &storagev1alpha1.VolumeClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}})
	ctx := context.Background()
	_, err := b.CreateVolume(ctx, &volumev1alpha1.CreateVolumeRequest{Volume: &volumev1alpha1.Volume{
		Metadata: &metav1alpha1.ObjectMetadata{Annotations: map[string]string{"big": strings.Repeat("x", 300<<10)}},
		Spec:     &volumev1alpha1.VolumeSpec{Class: "fast", Resources: &volumev1alpha1.VolumeResources{StorageBytes: 1 << 30}},
	}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "at most 245760 (240 KiB)") {
		t.Fatalf("create with 300 KiB of annotations: %v; want InvalidArgument naming the limit", err)
	}
	var list storagev1alpha1.VolumeList
	if err := c.List(ctx, &list); err != nil || len(list.Items) != 0 {
		t.Fatalf("created %d volumes (%v)", len(list.Items), err)
	}
	tooLarge := apierrors.NewRequestEntityTooLargeError("limit is 3145728")
	if err := b.store.D.ToStatus("create volume", tooLarge); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("413 from the downstream: %v; want ResourceExhausted", err)
	}
}
