package common

import (
	"context"
	"errors"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/types"
)

// The conversion cache memoises each object's IRI form as its protobuf encoding, keyed by the
// object's UID and valid for the resourceVersion it was converted from: ~700 bytes a machine
// instead of ~1.5 KB of messages and maps (docs/performance.md), and what a List answer is made
// of anyway. One entry per object: a newer version replaces it, a delete removes it, and the LRU
// bound (--conversion-cache-size) caps it.
type convCache = lru.Cache[types.UID, wireEntry]

type wireEntry struct {
	rv   string
	wire []byte
}

// convert returns o's IRI form: the memoised encoding (t zero) or a fresh conversion with its
// encoding (wire nil when the conversion is incomplete and not memoised, see ErrIncomplete).
func (s *Store[O, T]) convert(o O) (t T, wire []byte, err error) {
	if s.conv != nil {
		if e, ok := s.conv.Get(o.GetUID()); ok && e.rv == o.GetResourceVersion() {
			return t, e.wire, nil
		}
	}
	t, err = s.A.ToIRI(s.Broker, o)
	if errors.Is(err, ErrIncomplete) {
		return t, nil, nil
	}
	if err != nil || s.conv == nil {
		return t, nil, err
	}
	if wire, err = proto.Marshal(t); err != nil {
		return t, nil, fmt.Errorf("encode %s %s: %w", s.A.Kind, o.GetName(), err)
	}
	s.conv.Add(o.GetUID(), wireEntry{rv: o.GetResourceVersion(), wire: wire})
	return t, wire, nil
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

// encoded returns o's IRI form as protobuf bytes (shared: don't modify them).
func (s *Store[O, T]) encoded(o O) ([]byte, error) {
	t, wire, err := s.convert(o)
	if err != nil || wire != nil {
		return wire, err
	}
	if wire, err = proto.Marshal(t); err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", s.A.Kind, o.GetName(), err)
	}
	return wire, nil
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
	wires := make([][]byte, len(objs))
	size := 0
	for i, o := range objs {
		if wires[i], err = s.encoded(o); err != nil {
			return err
		}
		size += protowire.SizeTag(fd.Number()) + protowire.SizeBytes(len(wires[i]))
	}
	raw := make([]byte, 0, size)
	for _, w := range wires {
		raw = protowire.AppendTag(raw, fd.Number(), protowire.BytesType)
		raw = protowire.AppendBytes(raw, w)
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
