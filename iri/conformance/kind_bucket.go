package conformance

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

type bucket = bucketv1alpha1.Bucket

// bucketClass is the first class ListBucketClasses reports. The bucket
// runtime reports no quantities.
func (c *C) bucketClass(ctx context.Context) classInfo {
	return c.env.classes.get(&c.env.classes.bucket, func() classInfo {
		resp, err := c.Bucket().ListBucketClasses(ctx, &bucketv1alpha1.ListBucketClassesRequest{})
		if err != nil {
			return classInfo{err: fmt.Errorf("discovering bucket classes with ListBucketClasses: %w", err)}
		}
		for _, bc := range resp.GetBucketClasses() {
			if bc.GetName() != "" {
				return classInfo{name: bc.GetName()}
			}
		}
		return classInfo{err: errors.New("ListBucketClasses reports no bucket class, so no bucket can be created")}
	})
}

func (c *C) newBucket(ctx context.Context, lbls map[string]string) (*bucket, error) {
	ci := c.bucketClass(ctx)
	if ci.err != nil {
		return nil, ci.err
	}
	return &bucket{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: lbls, Annotations: map[string]string{CaseAnnotation: c.Name()}},
		Spec:     &bucketv1alpha1.BucketSpec{Class: ci.name},
	}, nil
}

func bucketAPI() *kindAPI[*bucket] {
	return &kindAPI[*bucket]{
		runtime:  Bucket,
		uidLabel: labels.BucketUIDLabel,
		version: func(ctx context.Context, c *C) (string, string, error) {
			r, err := c.Bucket().Version(ctx, &bucketv1alpha1.VersionRequest{Version: "v1alpha1"})
			return r.GetRuntimeName(), r.GetRuntimeVersion(), err
		},
		create: func(ctx context.Context, c *C, lbls map[string]string) (*bucket, error) {
			b, err := c.newBucket(ctx, lbls)
			if err != nil {
				return nil, err
			}
			resp, err := c.Bucket().CreateBucket(ctx, &bucketv1alpha1.CreateBucketRequest{Bucket: b})
			if err != nil {
				return nil, err
			}
			if resp.GetBucket().GetMetadata().GetId() == "" {
				return nil, errors.New("CreateBucket answered without a bucket id")
			}
			return resp.Bucket, nil
		},
		list: func(ctx context.Context, c *C, id string, sel map[string]string) ([]*bucket, error) {
			r, err := c.Bucket().ListBuckets(ctx, &bucketv1alpha1.ListBucketsRequest{Filter: &bucketv1alpha1.BucketFilter{Id: id, LabelSelector: sel}})
			return r.GetBuckets(), err
		},
		del: func(ctx context.Context, c *C, id string) error {
			_, err := c.Bucket().DeleteBucket(ctx, &bucketv1alpha1.DeleteBucketRequest{BucketId: id})
			return err
		},
		ready: func(b *bucket) (bool, string) {
			st := b.GetStatus().GetState()
			return st == bucketv1alpha1.BucketState_BUCKET_AVAILABLE, "state " + st.String()
		},
		events: func(ctx context.Context, c *C, f eventFilter) ([]*eventv1alpha1.Event, error) {
			r, err := c.Bucket().ListEvents(ctx, &bucketv1alpha1.ListEventsRequest{Filter: &bucketv1alpha1.EventFilter{
				Id: f.id, LabelSelector: f.selector, EventsFromTime: f.from, EventsToTime: f.to,
			}})
			return r.GetEvents(), err
		},
		watch: func(ctx context.Context, c *C, sel map[string]string, initial bool) (func() (watchEvent[*bucket], error), error) {
			s, err := c.Bucket().WatchBuckets(ctx, &bucketv1alpha1.WatchBucketsRequest{
				Filter: &bucketv1alpha1.BucketFilter{LabelSelector: sel}, SendInitialList: initial,
			})
			if err != nil {
				return nil, err
			}
			return watchRecv(s, func(e *bucketv1alpha1.WatchBucketsEvent) watchEvent[*bucket] {
				return watchEvent[*bucket]{typ: watchType(e.GetType()), obj: e.GetObject(), seq: e.GetSequence()}
			}), nil
		},
		parallelism: func(context.Context, *C) int { return parallelism(0) },
		badCreates:  bucketBadCreates,
		idCalls:     func(*C, string) []badCall { return nil }, // DeleteBucket is the only call with an id
	}
}

func bucketBadCreates(ctx context.Context, c *C) []badCall {
	invalid := []codes.Code{codes.InvalidArgument}
	create := func(mutate func(*bucket) *bucket) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			b, err := c.newBucket(ctx, c.Labels())
			if err != nil {
				return fmt.Errorf("building the request: %w", err)
			}
			_, err = c.Bucket().CreateBucket(ctx, &bucketv1alpha1.CreateBucketRequest{Bucket: mutate(b)})
			return err
		}
	}
	return []badCall{
		{"no bucket", func(ctx context.Context) error {
			_, err := c.Bucket().CreateBucket(ctx, &bucketv1alpha1.CreateBucketRequest{})
			return err
		}, invalid},
		{"no spec", create(func(b *bucket) *bucket { b.Spec = nil; return b }), invalid},
		{"missing class", create(func(b *bucket) *bucket { b.Spec.Class = ""; return b }), invalid},
		{"unknown class", create(func(b *bucket) *bucket { b.Spec.Class = "conformance-no-such-class"; return b }), invalid},
	}
}
