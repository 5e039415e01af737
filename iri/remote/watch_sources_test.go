package remote

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// The runtime interfaces are small enough to fake without gRPC: embed the
// interface and override what the test needs.
type fakeVolumeRuntime struct {
	VolumeRuntime
}

func (fakeVolumeRuntime) ListVolumes(context.Context, *volumev1alpha1.ListVolumesRequest) (*volumev1alpha1.ListVolumesResponse, error) {
	return &volumev1alpha1.ListVolumesResponse{Volumes: []*volumev1alpha1.Volume{{Metadata: &metav1alpha1.ObjectMetadata{Id: "v1"}}}}, nil
}

func (fakeVolumeRuntime) WatchVolumes(context.Context, *volumev1alpha1.WatchVolumesRequest) (grpc.ServerStreamingClient[volumev1alpha1.WatchVolumesEvent], error) {
	return nil, status.Error(codes.Unimplemented, "no watch")
}

type fakeBucketRuntime struct {
	BucketRuntime
}

func (fakeBucketRuntime) WatchBuckets(ctx context.Context, req *bucketv1alpha1.WatchBucketsRequest) (grpc.ServerStreamingClient[bucketv1alpha1.WatchBucketsEvent], error) {
	if !req.GetSendInitialList() {
		return nil, status.Error(codes.InvalidArgument, "want send_initial_list")
	}
	return &fakeBucketStream{ctx: ctx, events: []*bucketv1alpha1.WatchBucketsEvent{
		{Type: bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_ADDED, Object: &bucketv1alpha1.Bucket{Metadata: &metav1alpha1.ObjectMetadata{Id: "b1"}}},
		{Type: bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_BOOKMARK},
		{Type: bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_DELETED, Object: &bucketv1alpha1.Bucket{Metadata: &metav1alpha1.ObjectMetadata{Id: "b1"}}},
	}}, nil
}

type fakeBucketStream struct {
	grpc.ClientStream
	ctx    context.Context
	events []*bucketv1alpha1.WatchBucketsEvent
}

func (s *fakeBucketStream) Recv() (*bucketv1alpha1.WatchBucketsEvent, error) {
	if len(s.events) == 0 {
		<-s.ctx.Done()
		return nil, status.FromContextError(s.ctx.Err()).Err()
	}
	ev := s.events[0]
	s.events = s.events[1:]
	return ev, nil
}

func collect[T Object](t *testing.T, w *Watcher[T], n int) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	err := w.Run(ctx, func(ev Event[T]) {
		if ev.Type == Synced {
			got = append(got, "SYNCED")
		} else {
			got = append(got, ev.Type.String()+" "+ev.Object.GetMetadata().GetId())
		}
		if len(got) == n {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestVolumeAndBucketWatchers(t *testing.T) {
	vw, err := NewVolumeWatcher(fakeVolumeRuntime{}, nil, fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, vw, 2); len(got) != 2 || got[0] != "ADDED v1" || got[1] != "SYNCED" {
		t.Errorf("volume events = %q", got)
	}
	if vw.Status().Mode != ModePoll {
		t.Errorf("volume watcher mode = %s, want poll", vw.Status().Mode)
	}
	bw, err := NewBucketWatcher(fakeBucketRuntime{}, nil, fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, bw, 3); len(got) != 3 || got[0] != "ADDED b1" || got[1] != "SYNCED" || got[2] != "DELETED b1" {
		t.Errorf("bucket events = %q", got)
	}
	if bw.Status().Mode != ModeWatch {
		t.Errorf("bucket watcher mode = %s, want watch", bw.Status().Mode)
	}
}
