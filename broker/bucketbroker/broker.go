// Package bucketbroker is the IRI bucket runtime whose buckets live in a
// downstream cluster (docs/brokers.md).
package bucketbroker

import (
	"context"
	"sort"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
	irilabels "github.com/ironfed/ironfed/iri/labels"
)

// Name is the broker's name: the managed-by label value and runtime name.
const Name = "bucketbroker"

// Version is reported by the Version RPC.
const Version = "0.1.0"

// Broker serves the IRI BucketRuntime from a downstream cluster.
type Broker struct {
	bucketv1alpha1.UnimplementedBucketRuntimeServer
	*common.Broker
	store *common.Store[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket]
	opts  common.Options
}

var _ bucketv1alpha1.BucketRuntimeServer = (*Broker)(nil)

func cachedObjects() []client.Object {
	return []client.Object{&storagev1alpha1.Bucket{}, &storagev1alpha1.BucketClass{}, &storagev1alpha1.BucketPool{}, &corev1.Event{}}
}

// New builds the broker over d.
func New(d *common.Downstream, opts common.Options, log logr.Logger) (*Broker, error) {
	b := &Broker{Broker: &common.Broker{Name: Name, Kind: irilabels.Bucket, Namespace: opts.Namespace, D: d, Log: log}, opts: opts}
	store, err := common.NewStore(b.Broker, common.Adapter[*storagev1alpha1.Bucket, *bucketv1alpha1.Bucket]{
		New:     func() *storagev1alpha1.Bucket { return &storagev1alpha1.Bucket{} },
		NewList: func() client.ObjectList { return &storagev1alpha1.BucketList{} },
		Items: func(l client.ObjectList) []*storagev1alpha1.Bucket {
			return common.Pointers(l.(*storagev1alpha1.BucketList).Items)
		},
		ToIRI: b.toIRI,
		SecretRefs: func(o *storagev1alpha1.Bucket) []string {
			if a := o.Status.Access; a != nil && a.SecretRef != nil {
				return []string{a.SecretRef.Name}
			}
			return nil
		},
		APIVersion: storagev1alpha1.SchemeGroupVersion.String(),
		Kind:       "Bucket",
	}, opts)
	if err != nil {
		return nil, err
	}
	b.store = store
	return b, nil
}

// Setup registers the store's indexes and watch handler.
func (b *Broker) Setup(ctx context.Context) error { return b.store.Setup(ctx) }

// Register adds the BucketRuntime service.
func (b *Broker) Register(s *grpc.Server) { bucketv1alpha1.RegisterBucketRuntimeServer(s, b) }

// Run serves the bucket broker until ctx ends. It caches every Secret of
// the namespace: bucket access Secrets are written by the downstream
// bucketpoollet.
func Run(ctx context.Context, cfg *rest.Config, opts common.Options, log logr.Logger, onReady func()) error {
	return common.ServeKind(ctx, cfg, opts, log, Name, cachedObjects(), true, func(d *common.Downstream) (common.Service, error) {
		return New(d, opts, log)
	}, onReady)
}

var stateToIRI = map[storagev1alpha1.BucketState]bucketv1alpha1.BucketState{
	storagev1alpha1.BucketStateAvailable: bucketv1alpha1.BucketState_BUCKET_AVAILABLE,
	storagev1alpha1.BucketStateError:     bucketv1alpha1.BucketState_BUCKET_ERROR,
}

func (b *Broker) toIRI(x *storagev1alpha1.Bucket) (*bucketv1alpha1.Bucket, error) {
	spec := &bucketv1alpha1.BucketSpec{}
	if x.Spec.BucketClassRef != nil {
		spec.Class = x.Spec.BucketClassRef.Name
	}
	st := &bucketv1alpha1.BucketStatus{State: stateToIRI[x.Status.State]}
	var err error
	if a := x.Status.Access; a != nil {
		st.Access = &bucketv1alpha1.BucketAccess{Endpoint: a.Endpoint}
		if a.SecretRef != nil {
			st.Access.SecretData, err = b.SecretData(x.Namespace, a.SecretRef.Name)
		}
	}
	return &bucketv1alpha1.Bucket{Metadata: common.IRIMetadata(x), Spec: spec, Status: st}, err
}

func (b *Broker) Version(context.Context, *bucketv1alpha1.VersionRequest) (*bucketv1alpha1.VersionResponse, error) {
	return &bucketv1alpha1.VersionResponse{RuntimeName: Name, RuntimeVersion: Version}, nil
}

func (b *Broker) ListBuckets(ctx context.Context, req *bucketv1alpha1.ListBucketsRequest) (*bucketv1alpha1.ListBucketsResponse, error) {
	items, err := b.store.List(ctx, req.GetFilter().GetId(), req.GetFilter().GetLabelSelector())
	if err != nil {
		return nil, err
	}
	return &bucketv1alpha1.ListBucketsResponse{Buckets: items}, nil
}

func (b *Broker) ListEvents(ctx context.Context, req *bucketv1alpha1.ListEventsRequest) (*bucketv1alpha1.ListEventsResponse, error) {
	f := req.GetFilter()
	evs, err := b.store.ListEvents(ctx, common.EventFilter{ID: f.GetId(), Selector: f.GetLabelSelector(), From: f.GetEventsFromTime(), To: f.GetEventsToTime()})
	if err != nil {
		return nil, err
	}
	return &bucketv1alpha1.ListEventsResponse{Events: evs}, nil
}

func (b *Broker) CreateBucket(ctx context.Context, req *bucketv1alpha1.CreateBucketRequest) (*bucketv1alpha1.CreateBucketResponse, error) {
	x := req.GetBucket()
	if x == nil {
		return nil, common.Invalidf("bucket is required")
	}
	spec := x.GetSpec()
	if spec == nil {
		return nil, common.Invalidf("bucket.spec is required")
	}
	classes, err := b.classes(ctx)
	if err != nil {
		return nil, err
	}
	if spec.Class == "" {
		return nil, common.Invalidf("bucket.spec.class is required; supported bucket classes: %s", names(classes))
	}
	if !has(classes, spec.Class) {
		return nil, common.Invalidf("bucket class %q is not supported; supported bucket classes: %s", spec.Class, names(classes))
	}
	res, created, err := b.store.Create(ctx, x.GetMetadata(), common.CreateFuncs[*storagev1alpha1.Bucket]{
		Build: func(id string, om metav1.ObjectMeta) (*storagev1alpha1.Bucket, error) {
			d := &storagev1alpha1.Bucket{ObjectMeta: om}
			d.Spec.BucketClassRef = &commonv1alpha1.LocalObjectReference{Name: spec.Class}
			if b.opts.PoolName != "" {
				d.Spec.BucketPoolRef = &commonv1alpha1.LocalObjectReference{Name: b.opts.PoolName}
			}
			if len(b.opts.PoolSelector) > 0 {
				d.Spec.BucketPoolSelector = b.opts.PoolSelector
			}
			return d, nil
		},
	})
	if err != nil {
		return nil, err
	}
	if created {
		res.Spec = proto.Clone(spec).(*bucketv1alpha1.BucketSpec)
	}
	return &bucketv1alpha1.CreateBucketResponse{Bucket: res}, nil
}

func (b *Broker) DeleteBucket(ctx context.Context, req *bucketv1alpha1.DeleteBucketRequest) (*bucketv1alpha1.DeleteBucketResponse, error) {
	if err := b.store.Delete(ctx, req.GetBucketId()); err != nil {
		return nil, err
	}
	return &bucketv1alpha1.DeleteBucketResponse{}, nil
}

// ListBucketClasses returns the downstream classes offered by the Ready
// pools the broker may schedule onto.
// Unavailable while the downstream is unreachable: the class list is the
// bucket poollet's capacity report.
func (b *Broker) ListBucketClasses(ctx context.Context, _ *bucketv1alpha1.ListBucketClassesRequest) (*bucketv1alpha1.ListBucketClassesResponse, error) {
	if err := b.D.Unreachable(); err != nil {
		return nil, err
	}
	classes, err := b.classes(ctx)
	if err != nil {
		return nil, err
	}
	return &bucketv1alpha1.ListBucketClassesResponse{BucketClasses: classes}, nil
}

func (b *Broker) classes(ctx context.Context) ([]*bucketv1alpha1.BucketClass, error) {
	var pools storagev1alpha1.BucketPoolList
	var opts []client.ListOption
	if len(b.opts.PoolSelector) > 0 {
		opts = append(opts, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(b.opts.PoolSelector)})
	}
	if err := b.D.Cache.List(ctx, &pools, opts...); err != nil {
		return nil, b.D.ToStatus("list bucket pools", err)
	}
	offered := map[string]bool{}
	for _, p := range pools.Items {
		if (b.opts.PoolName != "" && p.Name != b.opts.PoolName) || !conditions.IsTrue(p.Status.Conditions, conditions.BucketPool, commonv1alpha1.ConditionTypeReady) {
			continue
		}
		for _, c := range p.Status.AvailableBucketClasses {
			offered[c.Name] = true
		}
	}
	var list storagev1alpha1.BucketClassList
	if err := b.D.Cache.List(ctx, &list); err != nil {
		return nil, b.D.ToStatus("list bucket classes", err)
	}
	var out []*bucketv1alpha1.BucketClass
	for _, c := range list.Items {
		if offered[c.Name] {
			out = append(out, &bucketv1alpha1.BucketClass{Name: c.Name, Capabilities: &bucketv1alpha1.BucketClassCapabilities{
				Tps: c.Capabilities.TPS().Value(), Iops: c.Capabilities.Name(commonv1alpha1.ResourceIOPS, "").Value(),
			}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func has(classes []*bucketv1alpha1.BucketClass, name string) bool {
	for _, c := range classes {
		if c.Name == name {
			return true
		}
	}
	return false
}

func names(classes []*bucketv1alpha1.BucketClass) string {
	if len(classes) == 0 {
		return "(none)"
	}
	s := classes[0].Name
	for _, c := range classes[1:] {
		s += ", " + c.Name
	}
	return s
}

func (b *Broker) WatchBuckets(req *bucketv1alpha1.WatchBucketsRequest, stream grpc.ServerStreamingServer[bucketv1alpha1.WatchBucketsEvent]) error {
	var seq uint64
	f := req.GetFilter()
	return b.store.Hub.Watch(stream.Context(), f.GetId(), f.GetLabelSelector(), req.GetSendInitialList(), func(t common.EventType, x *bucketv1alpha1.Bucket) error {
		seq++
		ev := &bucketv1alpha1.WatchBucketsEvent{Sequence: seq, Object: x}
		switch t {
		case common.Added:
			ev.Type = bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_ADDED
		case common.Modified:
			ev.Type = bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_MODIFIED
		case common.Deleted:
			ev.Type = bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_DELETED
		case common.Bookmark:
			ev.Type, ev.Object = bucketv1alpha1.WatchEventType_BUCKET_WATCH_EVENT_BOOKMARK, nil
		}
		return stream.Send(ev)
	})
}

// Sweepers returns the store, whose incomplete leftovers common.Run sweeps.
func (b *Broker) Sweepers() []common.Sweeper { return []common.Sweeper{b.store} }
