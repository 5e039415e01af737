package bucketbroker

import (
	"github.com/ironfed/ironfed/broker/common"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
)

var stateToIRI = map[storagev1alpha1.BucketState]bucketv1alpha1.BucketState{
	storagev1alpha1.BucketStateAvailable: bucketv1alpha1.BucketState_BUCKET_AVAILABLE,
	storagev1alpha1.BucketStateError:     bucketv1alpha1.BucketState_BUCKET_ERROR,
}

// toIRI converts a downstream Bucket; access.secret_data comes from the
// Secret the downstream bucketpoollet names in status.access.secretRef.
func toIRI(b *common.Broker, x *storagev1alpha1.Bucket) (*bucketv1alpha1.Bucket, error) {
	spec := &bucketv1alpha1.BucketSpec{}
	if x.Spec.BucketClassRef != nil {
		spec.Class = x.Spec.BucketClassRef.Name
	}
	st := &bucketv1alpha1.BucketStatus{State: stateToIRI[x.Status.State]}
	var err error
	if a := x.Status.Access; a != nil {
		st.Access = &bucketv1alpha1.BucketAccess{Endpoint: a.Endpoint}
		if a.SecretRef != nil {
			st.Access.SecretData, err = b.SecretData(a.SecretRef.Name)
		}
	}
	return &bucketv1alpha1.Bucket{Metadata: common.IRIMetadata(x), Spec: spec, Status: st}, err
}

// secretRefs names the access Secret toIRI reads.
func secretRefs(x *storagev1alpha1.Bucket) []string {
	if a := x.Status.Access; a != nil && a.SecretRef != nil {
		return []string{a.SecretRef.Name}
	}
	return nil
}
