package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

type bucket = *bucketv1alpha1.Bucket

func bucketRow(b bucket) []string {
	md := b.GetMetadata()
	return []string{md.GetId(), b.GetSpec().GetClass(), state(b.GetStatus().GetState().String(), "BUCKET_", md),
		labelSummary(md.GetLabels()), age(md)}
}

func parseBucketCreate(data []byte) (proto.Message, error) {
	req, obj := &bucketv1alpha1.CreateBucketRequest{}, &bucketv1alpha1.Bucket{}
	isReq, err := decodeCreate(data, "bucket", req, obj)
	if err != nil {
		return nil, err
	}
	if !isReq {
		req.Bucket = obj
	}
	return req, checkNewObject(req.GetBucket(), remote.KindBucket)
}

func connectBuckets(ctx context.Context, conn *grpc.ClientConn, opts ...remote.Option) (runner, error) {
	rt, err := remote.NewBucketRuntime(ctx, conn, opts...)
	if err != nil {
		return nil, err
	}
	return &kindOps[bucket]{
		kind:   remote.KindBucket,
		header: []string{"ID", "CLASS", "STATE", "LABELS", "AGE"},
		row:    bucketRow,
		list: func(ctx context.Context, id string, labels map[string]string) (proto.Message, []bucket, error) {
			resp, err := rt.ListBuckets(ctx, &bucketv1alpha1.ListBucketsRequest{
				Filter: &bucketv1alpha1.BucketFilter{Id: id, LabelSelector: labels}})
			return resp, resp.GetBuckets(), withPrefix("ListBuckets", err)
		},
		create: func(ctx context.Context, req proto.Message) (bucket, error) {
			resp, err := rt.CreateBucket(ctx, req.(*bucketv1alpha1.CreateBucketRequest))
			return resp.GetBucket(), withPrefix("CreateBucket", err)
		},
		delete: func(ctx context.Context, id string) error {
			_, err := rt.DeleteBucket(ctx, &bucketv1alpha1.DeleteBucketRequest{BucketId: id})
			return withPrefix("DeleteBucket", err)
		},
		// The bucket runtime has no Status RPC; its classes are what it offers.
		status: func(ctx context.Context) (proto.Message, table, error) {
			resp, err := rt.ListBucketClasses(ctx, &bucketv1alpha1.ListBucketClassesRequest{})
			return resp, rows(resp.GetBucketClasses(), []string{"CLASS", "TPS", "IOPS"},
				func(bc *bucketv1alpha1.BucketClass) []string {
					return []string{bc.GetName(), fmt.Sprint(bc.GetCapabilities().GetTps()), fmt.Sprint(bc.GetCapabilities().GetIops())}
				}), withPrefix("ListBucketClasses", err)
		},
		watcher: func(labels map[string]string, opts remote.WatcherOptions) (*remote.Watcher[bucket], error) {
			return remote.NewBucketWatcher(rt, &bucketv1alpha1.BucketFilter{LabelSelector: labels}, opts)
		},
	}, nil
}
