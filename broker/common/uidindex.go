package common

import (
	"context"
	"fmt"
	"strconv"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Informer indexes of our own, registered on the brokered kind's informers directly rather than
// with controller-runtime's IndexField, which keeps every value twice (namespaced and
// cluster-wide): a UID index that way was 20k one-element sets at 10k objects (docs/performance.md).
const (
	// indexUIDBucket files each object with a poollet UID label under one of uidBuckets hash
	// buckets: one entry per object in a set shared with ~n/uidBuckets others. A lookup reads
	// its bucket and keeps the objects whose label matches.
	indexUIDBucket = "broker.ironfed.dev/uid-bucket"
	// indexIncomplete files only the objects without the created label (the sweeper's work), so
	// the complete ones cost it nothing.
	indexIncomplete = "broker.ironfed.dev/incomplete"
)

const uidBuckets = 1024

// uidBucketKeys are the index values, one shared slice per bucket (the index function returns
// them as they are; client-go only reads them).
var uidBucketKeys = func() (k [uidBuckets][]string) {
	for i := range k {
		k[i] = []string{strconv.Itoa(i)}
	}
	return k
}()

var incompleteKey = []string{"true"}

// uidBucket hashes uid with FNV-1a (inline: no allocation per indexed object).
func uidBucket(uid string) []string {
	h := uint32(2166136261)
	for i := 0; i < len(uid); i++ {
		h ^= uint32(uid[i])
		h *= 16777619
	}
	return uidBucketKeys[h%uidBuckets]
}

func indexByUIDBucket(obj any) ([]string, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return nil, nil
	}
	if uid := o.GetLabels()[UIDLabel]; uid != "" {
		return uidBucket(uid), nil
	}
	return nil, nil
}

func indexByIncomplete(obj any) ([]string, error) {
	if o, ok := obj.(client.Object); ok && !IsCreated(o) {
		return incompleteKey, nil
	}
	return nil, nil
}

// addIndexes registers the indexes on the informer of the kind (before the cache starts; the
// informer is created here if need be).
func (s *Store[O, T]) addIndexes(ctx context.Context) error {
	inf, err := s.D.Cache.GetInformer(ctx, s.A.New())
	if err != nil {
		return fmt.Errorf("informer for %s: %w", s.A.Kind, err)
	}
	if err := inf.AddIndexers(toolscache.Indexers{indexUIDBucket: indexByUIDBucket, indexIncomplete: indexByIncomplete}); err != nil {
		return fmt.Errorf("index %s: %w", s.A.Kind, err)
	}
	return nil
}

// byIndex returns the cached objects of the kind in the broker's namespace filed under value in
// index: the informers' own objects, not copies (don't modify them).
func (s *Store[O, T]) byIndex(index string, value string) ([]O, error) {
	var out []O
	for _, inf := range s.D.stores.of(s.A.New()) {
		items, err := inf.GetIndexer().ByIndex(index, value)
		if err != nil {
			return nil, s.D.ToStatus("list "+s.A.Kind, err)
		}
		for _, it := range items {
			if o, ok := it.(O); ok && o.GetNamespace() == s.Namespace {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// byUID returns the cached objects (complete or not) whose poollet UID label is uid.
func (s *Store[O, T]) byUID(uid string) ([]O, error) {
	objs, err := s.byIndex(indexUIDBucket, uidBucket(uid)[0])
	if err != nil {
		return nil, err
	}
	out := objs[:0]
	for _, o := range objs {
		if o.GetLabels()[UIDLabel] == uid {
			out = append(out, o)
		}
	}
	return out, nil
}
