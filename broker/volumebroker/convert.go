package volumebroker

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// EncryptionSuffix names a volume's encryption Secret: "<id>-encryption".
const EncryptionSuffix = "-encryption"

var stateToIRI = map[storagev1alpha1.VolumeState]volumev1alpha1.VolumeState{
	storagev1alpha1.VolumeStateAvailable: volumev1alpha1.VolumeState_VOLUME_AVAILABLE,
	storagev1alpha1.VolumeStateError:     volumev1alpha1.VolumeState_VOLUME_ERROR,
}

func storageOf(rl commonv1alpha1.ResourceList) int64 {
	if q, ok := rl[commonv1alpha1.ResourceStorage]; ok {
		return q.Value()
	}
	return 0
}

func storageList(n int64) commonv1alpha1.ResourceList {
	return commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: *resource.NewQuantity(n, resource.BinarySI)}
}

// toIRI converts a downstream Volume. Its encryption Secret (the broker's)
// and its access Secret (the downstream volumepoollet's) follow the one rule
// for Secrets not cached yet (common.Broker.SecretData).
func toIRI(b *common.Broker, v *storagev1alpha1.Volume) (*volumev1alpha1.Volume, error) {
	spec := &volumev1alpha1.VolumeSpec{Resources: &volumev1alpha1.VolumeResources{StorageBytes: storageOf(v.Spec.Resources)}}
	if v.Spec.VolumeClassRef != nil {
		spec.Class = v.Spec.VolumeClassRef.Name
	}
	if img := v.Spec.DataSource.OSImage; img != nil {
		ids := &volumev1alpha1.ImageDataSource{Image: img.Image}
		if img.Architecture != nil {
			ids.Architecture = *img.Architecture
		}
		spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{ImageDataSource: ids}
	}
	if ref := v.Spec.DataSource.VolumeSnapshotRef; ref != nil {
		spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: ref.Name}}
	}
	var errs []error
	if e := v.Spec.Encryption; e != nil {
		data, err := b.SecretData(e.SecretRef.Name)
		spec.Encryption = &volumev1alpha1.EncryptionSpec{SecretData: data}
		errs = append(errs, err)
	}
	st := &volumev1alpha1.VolumeStatus{State: stateToIRI[v.Status.State]}
	if n := storageOf(v.Status.Resources); n > 0 {
		st.Resources = &volumev1alpha1.VolumeResources{StorageBytes: n}
	}
	if a := v.Status.Access; a != nil {
		st.Access = &volumev1alpha1.VolumeAccess{Driver: a.Driver, Handle: a.Handle, Attributes: a.VolumeAttributes}
		// The downstream poollet keeps the credentials in a Secret next to the Volume.
		if a.SecretRef != nil {
			var err error
			st.Access.SecretData, err = b.SecretData(a.SecretRef.Name)
			errs = append(errs, err)
		}
	}
	return &volumev1alpha1.Volume{Metadata: common.IRIMetadata(v), Spec: spec, Status: st}, errors.Join(errs...)
}

// secretRefs names the Secrets toIRI reads.
func secretRefs(v *storagev1alpha1.Volume) []string {
	var out []string
	if e := v.Spec.Encryption; e != nil {
		out = append(out, e.SecretRef.Name)
	}
	if a := v.Status.Access; a != nil && a.SecretRef != nil {
		out = append(out, a.SecretRef.Name)
	}
	return out
}

func subsOf(v *storagev1alpha1.Volume) []client.Object {
	if v.Spec.Encryption == nil {
		return nil
	}
	s := &corev1.Secret{}
	s.Name, s.Namespace = v.Spec.Encryption.SecretRef.Name, v.Namespace
	return []client.Object{s}
}
