package common

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ironfed/ironfed/iri/remote"
)

// The conversion cache memoises each object's IRI form as its protobuf encoding, keyed by the
// object's UID and valid for the resourceVersion it was converted from: ~150 bytes a machine
// with the entry instead of ~1.5 KB of messages and maps (docs/performance.md), and what a List answer is made
// of anyway. One entry per object: a newer version replaces it, a delete removes it, and
// --conversion-cache-size caps it.
//
// The IRI labels and annotations, most of an encoding (~600 of ~700 bytes for a machine as a
// poollet labels it), are left out of it when they are what the object's labels and annotations
// annotations hold (IRIMetadata reads them from there): the cached object keeps them anyway, and
// they are encoded from its strings when answering, without allocating.
//
// It is a map, not an LRU: a full list reads every entry in turn, which an LRU smaller than the
// objects serves worst (each entry is evicted before it is read again), and an LRU's list element
// and pointer were ~70 bytes an entry beside the ~150 of the entry itself. When full, adding an
// entry evicts an arbitrary one.
type convCache struct {
	mu  sync.RWMutex
	m   map[types.UID]wireEntry
	max int
}

func newConvCache(max int) *convCache {
	return &convCache{m: map[types.UID]wireEntry{}, max: max}
}

func (c *convCache) Get(uid types.UID) (wireEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[uid]
	return e, ok
}

func (c *convCache) Add(uid types.UID, e wireEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[uid]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[uid] = e
}

func (c *convCache) Remove(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, uid)
}

func (c *convCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

type wireEntry struct {
	rv   string
	wire []byte
	// meta is -1 when wire is the whole encoding. Otherwise the labels and annotations are left
	// out: wire[:meta] is the metadata message without them and wire[meta:] the other fields;
	// maps is their size as appendEntry encodes them from labels and annotations, the object's
	// JSON annotations (the cached object's strings, not copies: no map lookup when answering).
	meta, maps          int32
	labels, annotations string
}

// convert returns o's IRI form: the memoised encoding (t zero) or a fresh conversion with its
// encoding (wire nil when the conversion is incomplete and not memoised, see ErrIncomplete).
func (s *Store[O, T]) convert(o O) (t T, wire []byte, err error) {
	t, e, err := s.convertEntry(o)
	if err != nil || e.wire == nil {
		return t, nil, err
	}
	return t, s.appendEntry(make([]byte, 0, s.entrySize(e)), e), nil
}

// convertEntry is convert with the memoised entry as it is kept.
func (s *Store[O, T]) convertEntry(o O) (t T, e wireEntry, err error) {
	if s.conv != nil {
		if e, ok := s.conv.Get(o.GetUID()); ok && e.rv == o.GetResourceVersion() {
			return t, e, nil
		}
	}
	t, err = s.A.ToIRI(s.Broker, o)
	if errors.Is(err, ErrIncomplete) {
		return t, e, nil
	}
	if err != nil || s.conv == nil {
		return t, e, err
	}
	if e, err = s.newEntry(o, t); err != nil {
		return t, e, err
	}
	s.conv.Add(o.GetUID(), e)
	return t, e, nil
}

// newEntry encodes t, o's IRI form, leaving its labels and annotations out when o's annotations
// hold them.
func (s *Store[O, T]) newEntry(o O, t T) (wireEntry, error) {
	e := wireEntry{rv: o.GetResourceVersion(), meta: -1}
	md := t.GetMetadata()
	split := md != nil && len(md.Labels)+len(md.Annotations) > 0
	if split {
		a := o.GetAnnotations()
		split = flatJSONHolds(a[LabelsAnnotation], md.Labels) && flatJSONHolds(a[AnnotationsAnnotation], md.Annotations)
	}
	if split {
		labels, annotations := md.Labels, md.Annotations
		md.Labels, md.Annotations = nil, nil
		defer func() { md.Labels, md.Annotations = labels, annotations }()
	}
	wire, err := proto.Marshal(t)
	if err != nil {
		return e, fmt.Errorf("encode %s %s: %w", s.A.Kind, o.GetName(), err)
	}
	if !split {
		e.wire = wire
		return e, nil
	}
	// The metadata's content first, then the other fields (Marshal writes field 1 first; a
	// message written in parts reads as their merge, so the order is kept whatever it is).
	num := s.mdNum
	parts := make([]byte, 0, len(wire))
	for b := wire; len(b) > 0; {
		n, typ, tagLen := protowire.ConsumeTag(b)
		fieldLen := protowire.ConsumeFieldValue(n, typ, b[tagLen:])
		if tagLen < 0 || fieldLen < 0 {
			return e, fmt.Errorf("encode %s %s: %w", s.A.Kind, o.GetName(), protowire.ParseError(min(tagLen, fieldLen)))
		}
		if n == num && typ == protowire.BytesType {
			content, _ := protowire.ConsumeBytes(b[tagLen:])
			parts = append(parts, content...)
		}
		b = b[tagLen+fieldLen:]
	}
	e.meta = int32(len(parts))
	e.labels, e.annotations = o.GetAnnotations()[LabelsAnnotation], o.GetAnnotations()[AnnotationsAnnotation]
	e.maps = int32(mapEntriesSize(s.labelsNum, e.labels) + mapEntriesSize(s.annotationsNum, e.annotations))
	for b := wire; len(b) > 0; {
		n, typ, tagLen := protowire.ConsumeTag(b)
		fieldLen := protowire.ConsumeFieldValue(n, typ, b[tagLen:])
		if n != num || typ != protowire.BytesType {
			parts = append(parts, b[:tagLen+fieldLen]...)
		}
		b = b[tagLen+fieldLen:]
	}
	e.wire = parts
	return e, nil
}

// entrySize is the size of the whole encoding of an object from its entry e.
func (s *Store[O, T]) entrySize(e wireEntry) int {
	if e.meta < 0 {
		return len(e.wire)
	}
	md := int(e.meta + e.maps)
	return protowire.SizeTag(s.mdNum) + protowire.SizeBytes(md) + len(e.wire) - int(e.meta)
}

// appendEntry appends the whole encoding of an object from its entry e to b.
func (s *Store[O, T]) appendEntry(b []byte, e wireEntry) []byte {
	if e.meta < 0 {
		return append(b, e.wire...)
	}
	b = protowire.AppendTag(b, s.mdNum, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(e.meta+e.maps))
	b = append(b, e.wire[:e.meta]...)
	b = appendMapEntries(b, s.labelsNum, e.labels)
	b = appendMapEntries(b, s.annotationsNum, e.annotations)
	return append(b, e.wire[e.meta:]...)
}

// appendMapEntries appends the entries of the string map field num from json, which
// parseFlatJSON parsed before (see eachParsedFlatJSON).
func appendMapEntries(b []byte, num protowire.Number, json string) []byte {
	eachParsedFlatJSON(json, func(k, v string) {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(mapEntrySize(k, v)))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, v)
	})
	return b
}

// mapEntriesSize is the size appendMapEntries appends.
func mapEntriesSize(num protowire.Number, json string) int {
	n := 0
	eachParsedFlatJSON(json, func(k, v string) {
		n += protowire.SizeTag(num) + protowire.SizeBytes(mapEntrySize(k, v))
	})
	return n
}

func mapEntrySize(k, v string) int {
	return protowire.SizeTag(1) + protowire.SizeBytes(len(k)) + protowire.SizeTag(2) + protowire.SizeBytes(len(v))
}

// metadataField is the metadata field of T.
func metadataField[T remote.Object](t T) protoreflect.FieldDescriptor {
	fd := t.ProtoReflect().Descriptor().Fields().ByName("metadata")
	if fd == nil {
		panic(fmt.Sprintf("%s has no metadata field", t.ProtoReflect().Descriptor().FullName()))
	}
	return fd
}

// Convert converts o to its IRI form, decoding the memoised encoding when o's resourceVersion
// was converted before.
func (s *Store[O, T]) Convert(o O) (T, error) {
	t, wire, err := s.convert(o)
	var zero T
	if err != nil || t != zero {
		return t, err
	}
	t = zero.ProtoReflect().Type().New().Interface().(T)
	if err := proto.Unmarshal(wire, t); err != nil {
		return zero, fmt.Errorf("decode %s %s: %w", s.A.Kind, o.GetName(), err)
	}
	return t, nil
}

// encodedEntry returns o's IRI form as an entry for appendEntry (shared: don't modify it).
func (s *Store[O, T]) encodedEntry(o O) (wireEntry, error) {
	t, e, err := s.convertEntry(o)
	if err != nil || e.wire != nil {
		return e, err
	}
	wire, err := proto.Marshal(t)
	if err != nil {
		return e, fmt.Errorf("encode %s %s: %w", s.A.Kind, o.GetName(), err)
	}
	return wireEntry{wire: wire, meta: -1}, nil
}

// forgetConversion drops o's memoised conversion (a Secret it reads changed, or it is gone).
func (s *Store[O, T]) forgetConversion(o O) {
	if s.conv != nil {
		s.conv.Remove(o.GetUID())
	}
}

// Answer fills resp, the response of an IRI List RPC of the kind (its one repeated field of T),
// with the objects matching f. Served over gRPC, the field is put into resp already encoded (as
// unknown fields, which Marshal writes as they are): the answer is a copy of the memoised
// encodings instead of n messages marshalled again. A Go caller (no gRPC stream in ctx) gets
// the messages.
func (s *Store[O, T]) Answer(ctx context.Context, f Filter, resp proto.Message) error {
	m := resp.ProtoReflect()
	fd := listField[T](m.Descriptor())
	objs, err := s.selected(ctx, f.GetId(), f.GetLabelSelector())
	if err != nil {
		return err
	}
	if grpc.ServerTransportStreamFromContext(ctx) == nil {
		l := m.Mutable(fd).List()
		for _, o := range objs {
			t, err := s.Convert(o)
			if err != nil {
				return err
			}
			l.Append(protoreflect.ValueOfMessage(t.ProtoReflect()))
		}
		return nil
	}
	entries := make([]wireEntry, len(objs))
	size := 0
	for i, o := range objs {
		if entries[i], err = s.encodedEntry(o); err != nil {
			return err
		}
		size += protowire.SizeTag(fd.Number()) + protowire.SizeBytes(s.entrySize(entries[i]))
	}
	raw := make([]byte, 0, size)
	for _, e := range entries {
		raw = protowire.AppendTag(raw, fd.Number(), protowire.BytesType)
		raw = protowire.AppendVarint(raw, uint64(s.entrySize(e)))
		raw = s.appendEntry(raw, e)
	}
	m.SetUnknown(raw)
	return nil
}

// listField is the repeated field of T in a List response; a response without one is a
// programming error in the kind.
func listField[T proto.Message](md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	var zero T
	want := zero.ProtoReflect().Descriptor().FullName()
	fields := md.Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); fd.IsList() && fd.Message() != nil && fd.Message().FullName() == want {
			return fd
		}
	}
	panic(fmt.Sprintf("%s has no repeated %s field", md.FullName(), want))
}
