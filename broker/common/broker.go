package common

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/go-logr/logr"
	lru "github.com/hashicorp/golang-lru/v2"
	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

// IndexSecretRefs is the field index registered on kinds whose Adapter has SecretRefs (the
// indexes every kind has are in uidindex.go).
const IndexSecretRefs = "broker.ironfed.dev/secret-refs"

// Broker is what every broker kind shares: its name, the IRI kind, the
// namespace of its objects and the downstream cluster.
type Broker struct {
	// Name is the broker's name, e.g. "machinebroker"; the managed-by label value.
	Name string
	// Kind is the IRI kind whose poollet labels the broker reads.
	Kind      labels.Kind
	Namespace string
	D         *Downstream
	Log       logr.Logger
	// Opts are the broker's options (pool pinning, downstream name, ...).
	Opts Options
}

// DownstreamName names the downstream cluster in what is reported up.
func (b *Broker) DownstreamName() string {
	if b.Opts.DownstreamName != "" {
		return b.Opts.DownstreamName
	}
	return b.D.Host
}

// PoolRef is the pool every object is pinned to (--<kind>-pool-name), or nil.
func (b *Broker) PoolRef() *commonv1alpha1.LocalObjectReference {
	if b.Opts.PoolName == "" {
		return nil
	}
	return &commonv1alpha1.LocalObjectReference{Name: b.Opts.PoolName}
}

// PoolSelector is the pool selector of every object (--<kind>-pool-selector), or nil.
func (b *Broker) PoolSelector() map[string]string {
	if len(b.Opts.PoolSelector) == 0 {
		return nil
	}
	return b.Opts.PoolSelector
}

// Adapter tells the generic Store about one downstream kind O and its IRI
// type T.
type Adapter[O client.Object, T remote.Object] struct {
	// List is an empty list of O (e.g. &MachineList{}): the prototype of
	// NewList; New and Items follow from it.
	List client.ObjectList
	// ToIRI converts a cached downstream object (which it must not modify).
	// A referenced Secret that is not cached yet is ErrIncomplete with the
	// rest converted (see Broker.SecretData).
	ToIRI func(*Broker, O) (T, error)
	// Subs lists the sub-objects of a cached object (name and namespace
	// set), deleted explicitly after it; owner references are the backstop.
	Subs func(O) []client.Object
	// SecretRefs names the Secrets of the object's namespace whose data ToIRI reads: when one
	// appears or changes the object is converted again and sent to watchers, since the Secret
	// may arrive after the object's last event.
	SecretRefs func(O) []string
	// APIVersion and Kind of O, for owner references and messages; NewStore
	// fills them from the scheme.
	APIVersion, Kind string
	// Classes reads the kind's pools and classes (set by Serve from the Spec).
	Classes ClassSource
}

// New returns an empty O.
func (a Adapter[O, T]) New() O {
	return reflect.New(reflect.TypeFor[O]().Elem()).Interface().(O)
}

// NewList returns an empty list of O.
func (a Adapter[O, T]) NewList() client.ObjectList {
	return a.List.DeepCopyObject().(client.ObjectList)
}

// Items returns pointers to the items of a list from NewList (no copies).
func (a Adapter[O, T]) Items(l client.ObjectList) []O {
	objs, err := meta.ExtractList(l)
	if err != nil {
		panic(fmt.Sprintf("list %T has no items: %v", l, err)) // a programming error in the Spec
	}
	out := make([]O, len(objs))
	for i, o := range objs {
		out[i] = o.(O)
	}
	return out
}

// Store is the generic core of a broker kind: cached reads, idempotent
// creates with rollback, breaker-protected writes and the watch hub.
type Store[O client.Object, T remote.Object] struct {
	*Broker
	A Adapter[O, T]

	locks  keyedMutex
	recent *lru.Cache[string, string] // poollet UID -> id of recent creates
	conv   *convCache
	// mdNum, labelsNum and annotationsNum number T's metadata field and its maps (see convCache).
	mdNum, labelsNum, annotationsNum protowire.Number
	Hub                              *Hub[O, T]

	// Clock tells the sweeper the time (tests inject a fake one).
	Clock clock.PassiveClock

	// inflight holds the ids this process is creating: never swept.
	inflightMu sync.Mutex
	inflight   map[string]struct{}
}

// NewStore builds a Store; conversionCacheSize bounds the cache of converted
// objects (0 disables it).
func NewStore[O client.Object, T remote.Object](b *Broker, a Adapter[O, T], opts Options) (*Store[O, T], error) {
	gvk, err := apiutil.GVKForObject(a.New(), NewScheme())
	if err != nil {
		return nil, err
	}
	if a.Kind == "" {
		a.APIVersion, a.Kind = gvk.GroupVersion().String(), gvk.Kind
	}
	s := &Store[O, T]{Broker: b, A: a, Clock: opts.Clock}
	if s.Clock == nil {
		s.Clock = clock.RealClock{}
	}
	if s.recent, err = lru.New[string, string](4096); err != nil {
		return nil, err
	}
	if opts.ConversionCacheSize > 0 {
		s.conv = newConvCache(opts.ConversionCacheSize)
	}
	var zero T
	md := metadataField(zero)
	s.mdNum, s.labelsNum, s.annotationsNum = md.Number(), md.Message().Fields().ByName("labels").Number(), md.Message().Fields().ByName("annotations").Number()
	s.Hub = newHub(s)
	if opts.WatchBuffer > 0 {
		s.Hub.Buffer = opts.WatchBuffer
	}
	return s, nil
}

// Setup registers the field indexes and the watch handler; call it before
// the cache starts.
func (s *Store[O, T]) Setup(ctx context.Context) error {
	if err := s.addIndexes(ctx); err != nil {
		return err
	}
	idx := s.D.Cache
	if s.A.SecretRefs != nil {
		if err := idx.IndexField(ctx, s.A.New(), IndexSecretRefs, func(o client.Object) []string {
			return s.A.SecretRefs(o.(O))
		}); err != nil {
			return fmt.Errorf("index %s by secret refs: %w", s.A.Kind, err)
		}
	}
	return s.Hub.register(ctx)
}

// ErrIncomplete, returned by an adapter's ToIRI together with a usable result, marks a
// conversion that lacks something not cached yet (e.g. an access Secret written after the
// object's status): the result is served but not memoised, so the next read retries.
var ErrIncomplete = errors.New("conversion incomplete")

// SecretData reads a Secret of the broker's namespace from the cache.
//
// The one rule for a referenced Secret that is not cached yet (the Secret
// informer can lag the object's informer, e.g. after an outage): a read
// converts the object without the Secret's bytes and returns ErrIncomplete,
// so the result is served but not memoised, and the object is converted
// again and re-sent to watchers when the Secret arrives (Adapter.SecretRefs
// must name it). A write that needs the bytes uses SecretDataLive instead.
func (b *Broker) SecretData(name string) (map[string][]byte, error) {
	var s corev1.Secret
	if err := b.D.Cache.Get(context.Background(), client.ObjectKey{Namespace: b.Namespace, Name: name}, &s); err != nil {
		return nil, fmt.Errorf("%w: secret %s/%s: %v", ErrIncomplete, b.Namespace, name, err)
	}
	return s.Data, nil
}

// SecretDataLive reads a Secret from the cache or, when it is not cached
// yet, from the downstream apiserver: for writes that must not lose its
// bytes. A Secret that does not exist has no data.
func (b *Broker) SecretDataLive(ctx context.Context, name string) (map[string][]byte, error) {
	if data, err := b.SecretData(name); err == nil {
		return data, nil
	}
	var s corev1.Secret
	err := b.D.Write(ctx, func(ctx context.Context, c client.Client) error {
		return c.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: name}, &s)
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, b.D.ToStatus("read secret "+name, err)
	}
	return s.Data, nil
}

// Get returns the created object id from the cache; NotFound if it does
// not exist (or is not complete).
func (s *Store[O, T]) Get(ctx context.Context, id string) (O, error) {
	var zero O
	if err := CheckID(s.A.Kind+" id", id); err != nil {
		return zero, err
	}
	o := s.A.New()
	if err := s.D.Cache.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: id}, o); err != nil {
		if apierrors.IsNotFound(err) {
			return zero, NotFoundf("%s %s not found", s.A.Kind, id)
		}
		return zero, s.D.ToStatus("get "+s.A.Kind+" "+id, err)
	}
	if !IsCreated(o) {
		return zero, NotFoundf("%s %s not found", s.A.Kind, id)
	}
	return o, nil
}

// List returns the converted created objects matching id (if set) and the
// IRI label selector. An unknown or malformed id is an empty list.
func (s *Store[O, T]) List(ctx context.Context, id string, selector map[string]string) ([]T, error) {
	objs, err := s.selected(ctx, id, selector)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		t, err := s.Convert(o)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// selected returns the cached created objects matching id (if set) and the IRI label selector:
// the informer's own objects, to read and never to modify.
func (s *Store[O, T]) selected(ctx context.Context, id string, selector map[string]string) ([]O, error) {
	s.D.NoteRead()
	var objs []O
	if id != "" {
		if !ValidID(id) {
			return nil, nil
		}
		o, err := s.Get(ctx, id)
		if err != nil {
			if isNotFound(err) {
				return nil, nil
			}
			return nil, err
		}
		objs = []O{o}
	} else if uid, ok := selector[labels.UIDLabel(s.Kind)]; ok {
		// A selector on the poollet's UID label (how a poollet finds its
		// object) is served from the UID index, not by decoding the labels
		// of every cached object.
		var err error
		if objs, err = s.byUID(uid); err != nil {
			return nil, err
		}
	} else {
		// The informer's own objects, as the UID index hands them out: the cache's List would
		// copy every object's struct into a list's items first (~5.8 MB at 10k machines).
		var err error
		if objs, err = s.byIndex(toolscache.NamespaceIndex, s.Namespace); err != nil {
			return nil, err
		}
	}
	out := objs[:0]
	for _, o := range objs {
		if IsCreated(o) && MatchesLabels(o, selector) {
			out = append(out, o)
		}
	}
	return out, nil
}

// keyedMutex serialises work per key (here: per poollet UID).
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) Lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
