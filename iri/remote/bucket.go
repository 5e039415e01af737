package remote

import (
	"context"
	"time"

	"google.golang.org/grpc"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
)

// BucketRuntime is bucketv1alpha1.BucketRuntimeClient without call options;
// see MachineRuntime for what NewBucketRuntime's implementation adds.
type BucketRuntime interface {
	Version(ctx context.Context, req *bucketv1alpha1.VersionRequest) (*bucketv1alpha1.VersionResponse, error)
	ListEvents(ctx context.Context, req *bucketv1alpha1.ListEventsRequest) (*bucketv1alpha1.ListEventsResponse, error)
	ListBuckets(ctx context.Context, req *bucketv1alpha1.ListBucketsRequest) (*bucketv1alpha1.ListBucketsResponse, error)
	CreateBucket(ctx context.Context, req *bucketv1alpha1.CreateBucketRequest) (*bucketv1alpha1.CreateBucketResponse, error)
	DeleteBucket(ctx context.Context, req *bucketv1alpha1.DeleteBucketRequest) (*bucketv1alpha1.DeleteBucketResponse, error)
	ListBucketClasses(ctx context.Context, req *bucketv1alpha1.ListBucketClassesRequest) (*bucketv1alpha1.ListBucketClassesResponse, error)
	// WatchBuckets has no timeout: the stream lives until ctx ends.
	WatchBuckets(ctx context.Context, req *bucketv1alpha1.WatchBucketsRequest) (grpc.ServerStreamingClient[bucketv1alpha1.WatchBucketsEvent], error)
}

var _ BucketRuntime = (*bucketRuntime)(nil)

type bucketRuntime struct {
	c       bucketv1alpha1.BucketRuntimeClient
	timeout time.Duration
}

// NewBucketRuntime returns a BucketRuntime over conn after checking with
// Version that a bucket runtime answers.
func NewBucketRuntime(ctx context.Context, conn grpc.ClientConnInterface, opts ...Option) (BucketRuntime, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &bucketRuntime{c: bucketv1alpha1.NewBucketRuntimeClient(conn), timeout: o.callTimeout}
	resp, err := r.Version(ctx, &bucketv1alpha1.VersionRequest{Version: APIVersion})
	if err := checkVersion(KindBucket, resp, err); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *bucketRuntime) Version(ctx context.Context, req *bucketv1alpha1.VersionRequest) (*bucketv1alpha1.VersionResponse, error) {
	return call(ctx, r.timeout, r.c.Version, req)
}

func (r *bucketRuntime) ListEvents(ctx context.Context, req *bucketv1alpha1.ListEventsRequest) (*bucketv1alpha1.ListEventsResponse, error) {
	return call(ctx, r.timeout, r.c.ListEvents, req)
}

func (r *bucketRuntime) ListBuckets(ctx context.Context, req *bucketv1alpha1.ListBucketsRequest) (*bucketv1alpha1.ListBucketsResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.ListBuckets, req)
	return checked(resp, err, func(resp *bucketv1alpha1.ListBucketsResponse) error {
		return checkObjects(resp.GetBuckets(), "ListBucketsResponse")
	})
}

func (r *bucketRuntime) CreateBucket(ctx context.Context, req *bucketv1alpha1.CreateBucketRequest) (*bucketv1alpha1.CreateBucketResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.CreateBucket, req)
	return checked(resp, err, func(resp *bucketv1alpha1.CreateBucketResponse) error {
		return checkObject(resp.GetBucket(), "CreateBucketResponse")
	})
}

func (r *bucketRuntime) DeleteBucket(ctx context.Context, req *bucketv1alpha1.DeleteBucketRequest) (*bucketv1alpha1.DeleteBucketResponse, error) {
	return call(ctx, r.timeout, r.c.DeleteBucket, req)
}

func (r *bucketRuntime) ListBucketClasses(ctx context.Context, req *bucketv1alpha1.ListBucketClassesRequest) (*bucketv1alpha1.ListBucketClassesResponse, error) {
	resp, err := call(ctx, r.timeout, r.c.ListBucketClasses, req)
	return checked(resp, err, func(resp *bucketv1alpha1.ListBucketClassesResponse) error {
		names := make([]string, 0, len(resp.GetBucketClasses()))
		for _, c := range resp.GetBucketClasses() {
			names = append(names, c.GetName())
		}
		return checkClassNames(names, "ListBucketClassesResponse")
	})
}

func (r *bucketRuntime) WatchBuckets(ctx context.Context, req *bucketv1alpha1.WatchBucketsRequest) (grpc.ServerStreamingClient[bucketv1alpha1.WatchBucketsEvent], error) {
	return r.c.WatchBuckets(ctx, req)
}
