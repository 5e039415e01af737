package memory

import (
	"context"

	"google.golang.org/grpc"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

type bucketServer struct {
	bucketv1alpha1.UnimplementedBucketRuntimeServer
	b      *Buckets
	events *EventLog
}

var _ bucketv1alpha1.BucketRuntimeServer = (*bucketServer)(nil)

func (s *bucketServer) Version(context.Context, *bucketv1alpha1.VersionRequest) (*bucketv1alpha1.VersionResponse, error) {
	return &bucketv1alpha1.VersionResponse{RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion}, nil
}

func (s *bucketServer) ListEvents(_ context.Context, req *bucketv1alpha1.ListEventsRequest) (*bucketv1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs := s.events.list(EventFilter{ID: f.GetId(), Labels: f.GetLabelSelector(), FromTime: f.GetEventsFromTime(), ToTime: f.GetEventsToTime()})
	return &bucketv1alpha1.ListEventsResponse{Events: evs}, nil
}

func (s *bucketServer) ListBuckets(_ context.Context, req *bucketv1alpha1.ListBucketsRequest) (*bucketv1alpha1.ListBucketsResponse, error) {
	objs, err := s.b.list(Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()})
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &bucketv1alpha1.ListBucketsResponse{Buckets: objs}, nil
}

func (s *bucketServer) CreateBucket(_ context.Context, req *bucketv1alpha1.CreateBucketRequest) (*bucketv1alpha1.CreateBucketResponse, error) {
	obj, err := s.b.Create(req.GetBucket())
	if err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &bucketv1alpha1.CreateBucketResponse{Bucket: obj}, nil
}

func (s *bucketServer) DeleteBucket(_ context.Context, req *bucketv1alpha1.DeleteBucketRequest) (*bucketv1alpha1.DeleteBucketResponse, error) {
	if err := s.b.Delete(req.GetBucketId()); err != nil {
		return nil, runtimeerr.ToStatus(err)
	}
	return &bucketv1alpha1.DeleteBucketResponse{}, nil
}

func (s *bucketServer) ListBucketClasses(context.Context, *bucketv1alpha1.ListBucketClassesRequest) (*bucketv1alpha1.ListBucketClassesResponse, error) {
	return &bucketv1alpha1.ListBucketClassesResponse{BucketClasses: s.b.Classes()}, nil
}

func (s *bucketServer) WatchBuckets(req *bucketv1alpha1.WatchBucketsRequest, stream grpc.ServerStreamingServer[bucketv1alpha1.WatchBucketsEvent]) error {
	f := Filter{ID: req.GetFilter().GetId(), Labels: req.GetFilter().GetLabelSelector()}
	return serveWatch(stream.Context(), s.b.Store, f, req.GetSendInitialList(), func(t WatchEventType, obj *bucket, seq uint64) error {
		return stream.Send(&bucketv1alpha1.WatchBucketsEvent{Type: bucketv1alpha1.WatchEventType(t), Object: obj, Sequence: seq})
	})
}
