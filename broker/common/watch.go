package common

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/iri/remote"
)

// EventType is a kind-neutral watch event type; the per-kind servers map it
// to their proto enums.
type EventType int

const (
	Added EventType = iota + 1
	Modified
	Deleted
	Bookmark
)

// DefaultWatchBuffer is how many events a watcher may lag behind before it
// is dropped with ResourceExhausted.
const DefaultWatchBuffer = 4096

type watchEvent[T any] struct {
	typ EventType
	id  string
	obj T
	// wire is obj's memoised encoding (then obj may be zero: see Store.convert).
	wire []byte
	src  client.Object
}

type watcher[T any] struct {
	id       string
	selector map[string]string
	ch       chan watchEvent[T]
	dropped  chan struct{}
}

// Hub fans informer events of one kind out to IRI watch streams.
type Hub[O client.Object, T remote.Object] struct {
	s        *Store[O, T]
	mu       sync.Mutex
	watchers map[*watcher[T]]struct{}
	// Buffer is the per-watcher buffer (default DefaultWatchBuffer).
	Buffer int
}

func newHub[O client.Object, T remote.Object](s *Store[O, T]) *Hub[O, T] {
	return &Hub[O, T]{s: s, watchers: map[*watcher[T]]struct{}{}, Buffer: DefaultWatchBuffer}
}

func (h *Hub[O, T]) register(ctx context.Context) error {
	inf, err := h.s.D.Cache.GetInformer(ctx, h.s.A.New())
	if err != nil {
		return fmt.Errorf("informer for %s: %w", h.s.A.Kind, err)
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if o, ok := obj.(O); ok && IsCreated(o) {
				h.dispatch(Added, o)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			oldO, ok1 := oldObj.(O)
			newO, ok2 := newObj.(O)
			if !ok1 || !ok2 || oldO.GetResourceVersion() == newO.GetResourceVersion() {
				return
			}
			switch was, is := IsCreated(oldO), IsCreated(newO); {
			case !was && is:
				h.dispatch(Added, newO)
			case was && is:
				h.dispatch(Modified, newO)
			case was && !is:
				h.dispatch(Deleted, newO)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if o, ok := obj.(O); ok && IsCreated(o) {
				h.dispatch(Deleted, o)
			}
		},
	})
	if err != nil || h.s.A.SecretRefs == nil {
		return err
	}
	secrets, err := h.s.D.Cache.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("informer for Secrets: %w", err)
	}
	_, err = secrets.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { h.secretChanged(ctx, obj) },
		UpdateFunc: func(oldObj, newObj any) {
			if o, n, ok := secretPair(oldObj, newObj); ok && !equality.Semantic.DeepEqual(o.Data, n.Data) {
				h.secretChanged(ctx, n)
			}
		},
	})
	return err
}

func secretPair(oldObj, newObj any) (*corev1.Secret, *corev1.Secret, bool) {
	o, ok1 := oldObj.(*corev1.Secret)
	n, ok2 := newObj.(*corev1.Secret)
	return o, n, ok1 && ok2
}

// secretChanged converts the objects reading Secret obj again, bypassing the conversion cache
// (which may hold a conversion with the old data), and sends them to watchers as Modified.
func (h *Hub[O, T]) secretChanged(ctx context.Context, obj any) {
	sec, ok := obj.(*corev1.Secret)
	if !ok || sec.Namespace != h.s.Namespace {
		return
	}
	list := h.s.A.NewList()
	if err := h.s.D.Cache.List(ctx, list, client.InNamespace(sec.Namespace), client.MatchingFields{IndexSecretRefs: sec.Name}); err != nil {
		return
	}
	for _, o := range h.s.A.Items(list) {
		if !IsCreated(o) {
			continue
		}
		h.s.forgetConversion(o)
		h.dispatch(Modified, o)
	}
}

func (h *Hub[O, T]) dispatch(typ EventType, o O) {
	if typ == Deleted {
		defer h.s.forgetConversion(o) // after converting it for the watchers
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.watchers) == 0 {
		return
	}
	t, wire, err := h.s.convert(o)
	if err != nil {
		h.s.Log.Error(err, "Converting a downstream object for watchers failed", "id", o.GetName())
		return
	}
	ev := watchEvent[T]{typ: typ, id: o.GetName(), obj: t, wire: wire, src: o}
	for w := range h.watchers {
		if (w.id != "" && w.id != ev.id) || !MatchesLabels(o, w.selector) {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			delete(h.watchers, w)
			close(w.dropped)
		}
	}
}

// Watch streams the objects matching id and selector to send: with initial
// set first every matching object as Added, then one Bookmark (obj zero),
// then changes, until ctx ends or the watcher falls behind
// (ResourceExhausted).
func (h *Hub[O, T]) Watch(ctx context.Context, id string, selector map[string]string, initial bool, send func(EventType, T) error) error {
	return h.watch(ctx, id, selector, initial, func(typ EventType, obj T, wire []byte) error {
		var zero T
		if obj == zero && wire != nil {
			obj = zero.ProtoReflect().Type().New().Interface().(T)
			if err := proto.Unmarshal(wire, obj); err != nil {
				return status.Errorf(codes.Internal, "decode a memoised %s: %v", h.s.A.Kind, err)
			}
		}
		return send(typ, obj)
	})
}

// watch is Watch handing each object on as it is at hand: the message, or its memoised
// encoding with obj zero (gRPC streams send the encoding as it is, see ServeWatch).
func (h *Hub[O, T]) watch(ctx context.Context, id string, selector map[string]string, initial bool, send func(typ EventType, obj T, wire []byte) error) error {
	w := &watcher[T]{id: id, selector: selector, ch: make(chan watchEvent[T], h.Buffer), dropped: make(chan struct{})}
	h.mu.Lock()
	h.watchers[w] = struct{}{}
	var list []watchEvent[T]
	var err error
	if initial {
		list, err = h.initial(ctx, id, selector)
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.watchers, w)
		h.mu.Unlock()
	}()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, ev := range list {
		if err := send(Added, ev.obj, ev.wire); err != nil {
			return err
		}
		// An id of the initial list: a queued Added for it is a change.
		known[ev.id] = true
	}
	var zero T
	if err := send(Bookmark, zero, nil); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-w.ch:
			typ := ev.typ
			switch typ {
			case Added:
				if known[ev.id] {
					typ = Modified
				}
				known[ev.id] = true
			case Deleted:
				delete(known, ev.id)
			}
			if err := send(typ, ev.obj, ev.wire); err != nil {
				return err
			}
		case <-w.dropped:
			return status.Errorf(codes.ResourceExhausted, "watch of %s dropped: more than %d events queued for a slow receiver; watch again with send_initial_list", h.s.A.Kind, h.Buffer)
		}
	}
}

// initial is the initial list of a watch: the created objects matching id and selector.
func (h *Hub[O, T]) initial(ctx context.Context, id string, selector map[string]string) ([]watchEvent[T], error) {
	objs, err := h.s.selected(ctx, id, selector)
	if err != nil {
		return nil, err
	}
	out := make([]watchEvent[T], 0, len(objs))
	for _, o := range objs {
		t, wire, err := h.s.convert(o)
		if err != nil {
			return nil, err
		}
		out = append(out, watchEvent[T]{typ: Added, id: o.GetName(), obj: t, wire: wire})
	}
	return out, nil
}
