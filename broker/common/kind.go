package common

import (
	"context"
	"fmt"
	"reflect"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	eventv1alpha1 "github.com/ironfed/ironfed/iri/apis/event/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

// Spec is one broker kind: what the generic core needs to serve it. A kind
// adds only its conversion (Adapter.ToIRI) and its Create/Update handlers;
// Version, List, ListEvents, Delete, Watch, capacity and the class check are
// the core's.
type Spec[O client.Object, T remote.Object] struct {
	// Name is the broker's name, e.g. "machinebroker": the managed-by label
	// value and the runtime name.
	Name string
	// Kind is the IRI kind whose poollet labels the broker reads.
	Kind labels.Kind
	// Adapter converts and enumerates the downstream objects.
	Adapter Adapter[O, T]
	// Classes reads the kind's downstream pools and classes.
	Classes ClassSource
	// Cached are the downstream kinds read besides the kind itself, its
	// pools and classes, Events and Secrets (sub-object kinds).
	Cached []client.Object
	// AllSecrets caches every Secret of the namespace, not only the
	// broker's own (access Secrets written by the downstream poollet).
	AllSecrets bool
	// Register registers the kind's IRI service, built over s, on g.
	Register func(g *grpc.Server, s *Store[O, T])
	// Companions, if set, builds the stores of further downstream kinds served by the same
	// process over the kind's store (the volume broker's snapshots): set up and swept with it.
	// Their objects belong in Cached.
	Companions func(s *Store[O, T]) ([]Companion, error)
	// Servers, if set, returns what the kind serves besides gRPC (the machine
	// broker's console endpoint), run on every replica.
	Servers func(s *Store[O, T]) ([]func(ctx context.Context) error, error)
}

// Version is the runtime version every broker reports.
const Version = "0.1.0"

// RunOf returns the Run function of the broker kind spec returns.
func RunOf[O client.Object, T remote.Object](spec func() Spec[O, T]) RunFunc {
	return func(ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger, onReady func()) error {
		return Serve(ctx, cfg, opts, log, onReady, spec())
	}
}

// Serve runs broker kind spec over the downstream cluster at cfg until ctx
// ends; onReady (may be nil) is called once it serves. It is the Run
// function of every broker kind (see RunFunc).
func Serve[O client.Object, T remote.Object](ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger, onReady func(), spec Spec[O, T]) error {
	return serveKind(ctx, cfg, opts, log, spec.Name, spec.objects(), spec.AllSecrets, func(d *Downstream) (*service, error) {
		s, err := spec.newStore(d, opts, log)
		if err != nil {
			return nil, err
		}
		svc := &service{setup: s.Setup, register: func(g *grpc.Server) { spec.Register(g, s) }, sweepers: []Sweeper{s}}
		if spec.Companions != nil {
			cs, err := spec.Companions(s)
			if err != nil {
				return nil, err
			}
			setups := []func(context.Context) error{s.Setup}
			for _, c := range cs {
				setups, svc.sweepers = append(setups, c.Setup), append(svc.sweepers, c)
			}
			svc.setup = func(ctx context.Context) error {
				for _, f := range setups {
					if err := f(ctx); err != nil {
						return err
					}
				}
				return nil
			}
		}
		if spec.Servers != nil {
			if svc.servers, err = spec.Servers(s); err != nil {
				return nil, err
			}
		}
		return svc, nil
	}, onReady)
}

// Companion is a further Store served beside a kind's (see Spec.Companions).
type Companion interface {
	Setup(ctx context.Context) error
	Sweeper
}

// NewCompanion builds a Store of another downstream kind over s's downstream: same broker name,
// namespace and options; kind is the IRI kind whose poollet labels it reads.
func NewCompanion[O client.Object, T remote.Object, O2 client.Object, T2 remote.Object](s *Store[O, T], kind labels.Kind, a Adapter[O2, T2]) (*Store[O2, T2], error) {
	b := *s.Broker
	b.Kind = kind
	return NewStore(&b, a, b.Opts)
}

// service is one kind wired into the process.
type service struct {
	setup    func(context.Context) error
	register func(*grpc.Server)
	sweepers []Sweeper
	servers  []func(ctx context.Context) error
}

// Filter is what every IRI list and watch filter has.
type Filter interface {
	GetId() string
	GetLabelSelector() map[string]string
}

// EventsFilter is what every IRI ListEvents filter has.
type EventsFilter interface {
	Filter
	GetEventsFromTime() int64
	GetEventsToTime() int64
}

// ListFiltered is List with an IRI filter.
func (s *Store[O, T]) ListFiltered(ctx context.Context, f Filter) ([]T, error) {
	return s.List(ctx, f.GetId(), f.GetLabelSelector())
}

// ListEventsFiltered is ListEvents with an IRI events filter.
func (s *Store[O, T]) ListEventsFiltered(ctx context.Context, f EventsFilter) ([]*eventv1alpha1.Event, error) {
	return s.ListEvents(ctx, EventFilter{ID: f.GetId(), Selector: f.GetLabelSelector(), From: f.GetEventsFromTime(), To: f.GetEventsToTime()})
}

// ServeWatch serves one IRI Watch RPC of any kind: the kinds' watch events
// all have the fields type, object and sequence, and the core's EventType
// values are the IRI WatchEventType numbers (ADDED 1 ... BOOKMARK 4).
func ServeWatch[O client.Object, T remote.Object, E any, PE interface {
	*E
	proto.Message
}](s *Store[O, T], f Filter, initial bool, stream grpc.ServerStreamingServer[E]) error {
	fields := PE(new(E)).ProtoReflect().Descriptor().Fields()
	typ, object, sequence := fields.ByName("type"), fields.ByName("object"), fields.ByName("sequence")
	var seq uint64
	return s.Hub.watch(stream.Context(), f.GetId(), f.GetLabelSelector(), initial, func(t EventType, obj T, wire []byte) error {
		seq++
		ev := PE(new(E))
		m := ev.ProtoReflect()
		m.Set(typ, protoreflect.ValueOfEnum(protoreflect.EnumNumber(t)))
		m.Set(sequence, protoreflect.ValueOfUint64(seq))
		var zero T
		switch {
		case t == Bookmark:
		case wire != nil:
			// The memoised encoding goes out as it is (see Store.Answer).
			m.SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, object.Number(), protowire.BytesType), wire))
		case obj != zero:
			m.Set(object, protoreflect.ValueOfMessage(obj.ProtoReflect()))
		}
		return stream.Send((*E)(ev))
	})
}

// SpecOf returns the spec of a create request's object, InvalidArgument
// naming what is missing when the object or its spec is nil.
func SpecOf[X interface {
	comparable
	GetSpec() S
}, S comparable](x X, what string) (S, error) {
	var zx X
	var zs S
	if x == zx {
		return zs, Invalidf("%s is required", what)
	}
	spec := x.GetSpec()
	if spec == zs {
		return zs, Invalidf("%s.spec is required", what)
	}
	return spec, nil
}

// poolObject and classObject are empty items of the lists, for the cache.
func (c ClassSource) poolObject() client.Object  { return itemOf(c.PoolList) }
func (c ClassSource) classObject() client.Object { return itemOf(c.ClassList) }

func itemOf(l client.ObjectList) client.Object {
	t := reflect.ValueOf(l).Elem().FieldByName("Items").Type().Elem()
	return reflect.New(t).Interface().(client.Object)
}

// StartStore builds the downstream described by d and the store of spec
// over it, and starts its cache until ctx ends: the store without the gRPC
// server and process around it (the fast tests use it over a fake client,
// d.Client).
func StartStore[O client.Object, T remote.Object](ctx context.Context, spec Spec[O, T], opts Options, d DownstreamOptions) (*Store[O, T], error) {
	d.Broker, d.Namespace = spec.Name, opts.Namespace
	d.Breaker, d.WriteTimeout, d.RequestTimeout = opts.Breaker, opts.WriteTimeout, opts.KubeAPITimeout
	d.Objects, d.AllSecrets = spec.objects(), spec.AllSecrets
	down, err := NewDownstream(&rest.Config{}, d)
	if err != nil {
		return nil, err
	}
	s, err := spec.newStore(down, opts, d.Log)
	if err != nil {
		return nil, err
	}
	if err := s.Setup(ctx); err != nil {
		return nil, err
	}
	if err := down.TrackWrites(ctx, append(d.Objects, &corev1.Secret{})...); err != nil {
		return nil, err
	}
	go func() { _ = down.Cache.Start(ctx) }()
	if !down.Cache.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("cache of %s did not sync", spec.Name)
	}
	return s, nil
}

// objects are the downstream kinds the broker caches.
func (spec Spec[O, T]) objects() []client.Object {
	return append([]client.Object{spec.Adapter.New(), spec.Classes.poolObject(), spec.Classes.classObject(), &corev1.Event{}}, spec.Cached...)
}

func (spec Spec[O, T]) newStore(d *Downstream, opts Options, log logr.Logger) (*Store[O, T], error) {
	b := &Broker{Name: spec.Name, Kind: spec.Kind, Namespace: opts.Namespace, D: d, Log: log, Opts: opts}
	a := spec.Adapter
	a.Classes = spec.Classes
	return NewStore(b, a, opts)
}
