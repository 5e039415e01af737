package conformance

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// object is an IRI object: machine, volume, bucket.
type object interface {
	comparable
	GetMetadata() *metav1alpha1.ObjectMetadata
}

// watchType mirrors each kind's WatchEventType; the wire values agree.
type watchType int32

const (
	watchAdded    watchType = 1
	watchModified watchType = 2
	watchDeleted  watchType = 3
	watchBookmark watchType = 4
)

func (t watchType) String() string {
	switch t {
	case watchAdded:
		return "ADDED"
	case watchModified:
		return "MODIFIED"
	case watchDeleted:
		return "DELETED"
	case watchBookmark:
		return "BOOKMARK"
	}
	return "UNSPECIFIED"
}

type watchEvent[T object] struct {
	typ watchType
	obj T
	seq uint64
}

// badCall is a request that must fail with one of codes.
type badCall struct {
	name  string
	call  func(ctx context.Context) error
	codes []codes.Code
}

// kindAPI adapts one runtime's generated client to the shape the generic
// cases need; the three runtimes differ in types, not in behaviour.
type kindAPI[T object] struct {
	runtime  Runtime
	uidLabel string

	version func(ctx context.Context, c *C) (name, version string, err error)
	// create creates an object of a discovered class with labels.
	create func(ctx context.Context, c *C, labels map[string]string) (T, error)
	list   func(ctx context.Context, c *C, id string, selector map[string]string) ([]T, error)
	del    func(ctx context.Context, c *C, id string) error
	// ready reports whether the object reached its steady state (Running,
	// Available) and describes it for messages.
	ready func(T) (bool, string)
	// modify changes a created object so that a watch sees MODIFIED and
	// returns how to recognise the change; nil if the runtime has no update
	// call.
	modify func(ctx context.Context, c *C, id string) (func(T) bool, error)
	events func(ctx context.Context, c *C, f eventFilter) ([]*eventv1alpha1.Event, error)
	watch  func(ctx context.Context, c *C, selector map[string]string, initial bool) (func() (watchEvent[T], error), error)
	// parallelism is how many objects the runtime can hold for the
	// parallel-create case, discovered from its status.
	parallelism func(ctx context.Context, c *C) int
	// badCreates are creates that must be refused.
	badCreates func(ctx context.Context, c *C) []badCall
	// idCalls are the calls taking an object id, other than delete; each
	// must answer NotFound (or InvalidArgument) for an id that does not exist.
	idCalls func(c *C, id string) []badCall
}

type eventFilter struct {
	id       string
	selector map[string]string
	from, to int64
}

// watchRecv adapts a generated server-streaming client.
func watchRecv[E any, T object](stream grpc.ServerStreamingClient[E], conv func(*E) watchEvent[T]) func() (watchEvent[T], error) {
	return func() (watchEvent[T], error) {
		ev, err := stream.Recv()
		if err != nil {
			return watchEvent[T]{}, err
		}
		return conv(ev), nil
	}
}

// classCache holds what the runtimes say about their classes, asked once
// per run: cases never hard-code class names.
type classCache struct {
	mu      sync.Mutex
	machine *classInfo
	volume  *classInfo
	bucket  *classInfo
}

type classInfo struct {
	name     string
	quantity int64 // 0 when the runtime does not report one (buckets)
	err      error
}

func (cc *classCache) get(slot **classInfo, discover func() classInfo) classInfo {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if *slot == nil {
		info := discover()
		*slot = &info
	}
	return **slot
}

// deleteAllOfRun deletes every object of the runtime carrying the case's
// run label and fails the case if something stays behind.
func deleteAllOfRun(ctx context.Context, c *C, r Runtime) {
	switch r {
	case Machine:
		deleteAll(ctx, c, machineAPI())
	case Volume:
		deleteAllSnapshots(ctx, c)
		deleteAll(ctx, c, volumeAPI())
	case Bucket:
		deleteAll(ctx, c, bucketAPI())
	}
}

func deleteAll[T object](ctx context.Context, c *C, api *kindAPI[T]) {
	sel := c.Labels()
	objs, err := api.list(ctx, c, "", sel)
	if err != nil {
		c.Errorf("cleanup: listing %ss of this run: %v", api.runtime, err)
		return
	}
	for _, o := range objs {
		if err := api.del(ctx, c, o.GetMetadata().GetId()); err != nil {
			c.Errorf("cleanup: deleting %s %s: %v", api.runtime, o.GetMetadata().GetId(), err)
		}
	}
	c.Eventually(ctx, "cleanup of the "+string(api.runtime)+"s of this run", func() (bool, string) {
		objs, err := api.list(ctx, c, "", sel)
		if err != nil {
			return false, err.Error()
		}
		return len(objs) == 0, ""
	})
}
