package remote

import (
	"context"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
)

// SourceFuncs adapts two functions to a Source.
type SourceFuncs[T any] struct {
	ListFunc  func(ctx context.Context) ([]T, error)
	WatchFunc func(ctx context.Context) (Stream[T], error)
}

func (s SourceFuncs[T]) List(ctx context.Context) ([]T, error)        { return s.ListFunc(ctx) }
func (s SourceFuncs[T]) Watch(ctx context.Context) (Stream[T], error) { return s.WatchFunc(ctx) }

// watchEvent is the shape of Watch{Machines,Volumes,Buckets}Event; the
// three WatchEventType enums share their numbers.
type watchEvent[T any, E ~int32] interface {
	GetType() E
	GetObject() T
}

type streamAdapter[T any, E ~int32, Ev watchEvent[T, E]] struct {
	s interface{ Recv() (Ev, error) }
}

func (a streamAdapter[T, E, Ev]) Recv() (EventType, T, error) {
	ev, err := a.s.Recv()
	if err != nil {
		var zero T
		return 0, zero, err
	}
	var typ EventType
	switch ev.GetType() {
	case 1:
		typ = Added
	case 2:
		typ = Modified
	case 3:
		typ = Deleted
	case 4:
		typ = Bookmark
	}
	return typ, ev.GetObject(), nil
}

// NewMachineWatcher watches the machines matching filter (nil: all).
func NewMachineWatcher(rt MachineRuntime, filter *machinev1alpha1.MachineFilter, opts WatcherOptions) (*Watcher[*machinev1alpha1.Machine], error) {
	type M = *machinev1alpha1.Machine
	return NewWatcher[M](SourceFuncs[M]{
		ListFunc: func(ctx context.Context) ([]M, error) {
			resp, err := rt.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: filter})
			return resp.GetMachines(), err
		},
		WatchFunc: func(ctx context.Context) (Stream[M], error) {
			s, err := rt.WatchMachines(ctx, &machinev1alpha1.WatchMachinesRequest{Filter: filter, SendInitialList: true})
			return streamAdapter[M, machinev1alpha1.WatchEventType, *machinev1alpha1.WatchMachinesEvent]{s}, err
		},
	}, opts)
}

// NewVolumeWatcher watches the volumes matching filter (nil: all).
func NewVolumeWatcher(rt VolumeRuntime, filter *volumev1alpha1.VolumeFilter, opts WatcherOptions) (*Watcher[*volumev1alpha1.Volume], error) {
	type V = *volumev1alpha1.Volume
	return NewWatcher[V](SourceFuncs[V]{
		ListFunc: func(ctx context.Context) ([]V, error) {
			resp, err := rt.ListVolumes(ctx, &volumev1alpha1.ListVolumesRequest{Filter: filter})
			return resp.GetVolumes(), err
		},
		WatchFunc: func(ctx context.Context) (Stream[V], error) {
			s, err := rt.WatchVolumes(ctx, &volumev1alpha1.WatchVolumesRequest{Filter: filter, SendInitialList: true})
			return streamAdapter[V, volumev1alpha1.WatchEventType, *volumev1alpha1.WatchVolumesEvent]{s}, err
		},
	}, opts)
}

// NewBucketWatcher watches the buckets matching filter (nil: all).
func NewBucketWatcher(rt BucketRuntime, filter *bucketv1alpha1.BucketFilter, opts WatcherOptions) (*Watcher[*bucketv1alpha1.Bucket], error) {
	type B = *bucketv1alpha1.Bucket
	return NewWatcher[B](SourceFuncs[B]{
		ListFunc: func(ctx context.Context) ([]B, error) {
			resp, err := rt.ListBuckets(ctx, &bucketv1alpha1.ListBucketsRequest{Filter: filter})
			return resp.GetBuckets(), err
		},
		WatchFunc: func(ctx context.Context) (Stream[B], error) {
			s, err := rt.WatchBuckets(ctx, &bucketv1alpha1.WatchBucketsRequest{Filter: filter, SendInitialList: true})
			return streamAdapter[B, bucketv1alpha1.WatchEventType, *bucketv1alpha1.WatchBucketsEvent]{s}, err
		},
	}, opts)
}
