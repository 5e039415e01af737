// Package bucketbroker is the IRI bucket runtime whose buckets live in a
// downstream cluster (docs/brokers.md).
package bucketbroker

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	irilabels "github.com/ironfed/ironfed/iri/labels"
)

// Name is the broker's name: the managed-by label value and runtime name.
const Name = "bucketbroker"

type store = common.Store[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket]

// Broker serves the IRI BucketRuntime from a downstream cluster.
type Broker struct {
	bucketv1alpha1.UnimplementedBucketRuntimeServer
	*store
}

var _ bucketv1alpha1.BucketRuntimeServer = (*Broker)(nil)

// Spec is the bucket broker's kind spec. Bucket access Secrets are written
// by the downstream bucketpoollet, so every Secret of the namespace is cached.
func Spec() common.Spec[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket] {
	return common.Spec[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket]{
		Name: Name, Kind: irilabels.Bucket, AllSecrets: true,
		Adapter:  common.Adapter[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket]{List: &storagev1alpha1.BucketList{}, ToIRI: toIRI, SecretRefs: secretRefs},
		Classes:  common.ClassSource{Type: commonv1alpha1.ClassTypeBucketClass, PoolList: &storagev1alpha1.BucketPoolList{}, ClassList: &storagev1alpha1.BucketClassList{}},
		Register: func(g *grpc.Server, s *store) { bucketv1alpha1.RegisterBucketRuntimeServer(g, &Broker{store: s}) },
	}
}

// Run serves the bucket broker until ctx ends.
var Run = common.RunOf(Spec)

func (b *Broker) Version(context.Context, *bucketv1alpha1.VersionRequest) (*bucketv1alpha1.VersionResponse, error) {
	return &bucketv1alpha1.VersionResponse{RuntimeName: Name, RuntimeVersion: common.Version}, nil
}

func (b *Broker) ListBuckets(ctx context.Context, req *bucketv1alpha1.ListBucketsRequest) (*bucketv1alpha1.ListBucketsResponse, error) {
	resp := &bucketv1alpha1.ListBucketsResponse{}
	return resp, b.Answer(ctx, req.GetFilter(), resp)
}

func (b *Broker) ListEvents(ctx context.Context, req *bucketv1alpha1.ListEventsRequest) (*bucketv1alpha1.ListEventsResponse, error) {
	evs, err := b.ListEventsFiltered(ctx, req.GetFilter())
	return &bucketv1alpha1.ListEventsResponse{Events: evs}, err
}

func (b *Broker) CreateBucket(ctx context.Context, req *bucketv1alpha1.CreateBucketRequest) (*bucketv1alpha1.CreateBucketResponse, error) {
	spec, err := common.SpecOf(req.GetBucket(), "bucket")
	if err != nil {
		return nil, err
	}
	res, created, err := b.Create(ctx, req.GetBucket().GetMetadata(), common.CreateFuncs[*storagev1alpha1.Bucket]{
		Class: spec.Class,
		Build: func(id string, om metav1.ObjectMeta) (*storagev1alpha1.Bucket, error) {
			d := &storagev1alpha1.Bucket{ObjectMeta: om}
			d.Spec.BucketClassRef = &commonv1alpha1.LocalObjectReference{Name: spec.Class}
			d.Spec.BucketPoolRef, d.Spec.BucketPoolSelector = b.PoolRef(), b.PoolSelector()
			return d, nil
		},
	})
	if created {
		res.Spec = proto.Clone(spec).(*bucketv1alpha1.BucketSpec)
	}
	return &bucketv1alpha1.CreateBucketResponse{Bucket: res}, err
}

func (b *Broker) DeleteBucket(ctx context.Context, req *bucketv1alpha1.DeleteBucketRequest) (*bucketv1alpha1.DeleteBucketResponse, error) {
	return &bucketv1alpha1.DeleteBucketResponse{}, b.Delete(ctx, req.GetBucketId())
}

// ListBucketClasses returns the downstream classes offered by the Ready
// pools the broker may schedule onto: the bucket poollet's capacity report,
// so Unavailable while the downstream is unreachable.
func (b *Broker) ListBucketClasses(ctx context.Context, _ *bucketv1alpha1.ListBucketClassesRequest) (*bucketv1alpha1.ListBucketClassesResponse, error) {
	capacity, err := b.Capacity(ctx)
	resp := &bucketv1alpha1.ListBucketClassesResponse{}
	for _, c := range capacity {
		if c.Offered {
			caps := &bucketv1alpha1.BucketClassCapabilities{Tps: c.Capabilities.TPS().Value(), Iops: c.Capabilities.Name(commonv1alpha1.ResourceIOPS, "").Value()}
			resp.BucketClasses = append(resp.BucketClasses, &bucketv1alpha1.BucketClass{Name: c.Name, Capabilities: caps})
		}
	}
	return resp, err
}

func (b *Broker) WatchBuckets(req *bucketv1alpha1.WatchBucketsRequest, stream grpc.ServerStreamingServer[bucketv1alpha1.WatchBucketsEvent]) error {
	return common.ServeWatch(b.store, req.GetFilter(), req.GetSendInitialList(), stream)
}
