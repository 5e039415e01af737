package bucket

import (
	"context"

	"google.golang.org/grpc"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

// RuntimeName and RuntimeVersion are what Version reports.
const (
	RuntimeName    = "ironfed-ceph-rgw"
	RuntimeVersion = "0.1.0"
)

type server struct {
	bucketv1alpha1.UnimplementedBucketRuntimeServer
	b *Buckets
}

var _ bucketv1alpha1.BucketRuntimeServer = (*server)(nil)

// Server returns the gRPC service (IRI BucketRuntime plus WatchBuckets).
func (bs *Buckets) Server() bucketv1alpha1.BucketRuntimeServer { return &server{b: bs} }

// Register adds the service to s.
func (bs *Buckets) Register(s *grpc.Server) {
	bucketv1alpha1.RegisterBucketRuntimeServer(s, bs.Server())
}

func (s *server) Version(context.Context, *bucketv1alpha1.VersionRequest) (*bucketv1alpha1.VersionResponse, error) {
	return &bucketv1alpha1.VersionResponse{RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion}, nil
}

func (s *server) ListEvents(_ context.Context, req *bucketv1alpha1.ListEventsRequest) (*bucketv1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs := s.b.Events.List(objstore.EventFilter{ID: f.GetId(), Labels: f.GetLabelSelector(), FromTime: f.GetEventsFromTime(), ToTime: f.GetEventsToTime()})
	return &bucketv1alpha1.ListEventsResponse{Events: evs}, nil
}

func (s *server) ListBuckets(_ context.Context, req *bucketv1alpha1.ListBucketsRequest) (*bucketv1alpha1.ListBucketsResponse, error) {
	objs, err := s.b.Index.List(objstore.Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()})
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &bucketv1alpha1.ListBucketsResponse{Buckets: objs}, nil
}

func (s *server) CreateBucket(ctx context.Context, req *bucketv1alpha1.CreateBucketRequest) (*bucketv1alpha1.CreateBucketResponse, error) {
	obj, err := s.b.Create(ctx, req.GetBucket())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &bucketv1alpha1.CreateBucketResponse{Bucket: obj}, nil
}

func (s *server) DeleteBucket(ctx context.Context, req *bucketv1alpha1.DeleteBucketRequest) (*bucketv1alpha1.DeleteBucketResponse, error) {
	if err := s.b.Delete(ctx, req.GetBucketId()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &bucketv1alpha1.DeleteBucketResponse{}, nil
}

func (s *server) ListBucketClasses(context.Context, *bucketv1alpha1.ListBucketClassesRequest) (*bucketv1alpha1.ListBucketClassesResponse, error) {
	return &bucketv1alpha1.ListBucketClassesResponse{BucketClasses: s.b.Classes()}, nil
}

func (s *server) WatchBuckets(req *bucketv1alpha1.WatchBucketsRequest, stream grpc.ServerStreamingServer[bucketv1alpha1.WatchBucketsEvent]) error {
	f := objstore.Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()}
	return objstore.ServeWatch(stream.Context(), s.b.Index, f, req.GetSendInitialList(), func(t objstore.WatchType, obj *bucket, seq uint64) error {
		return stream.Send(&bucketv1alpha1.WatchBucketsEvent{Type: bucketv1alpha1.WatchEventType(t), Object: obj, Sequence: seq})
	})
}
