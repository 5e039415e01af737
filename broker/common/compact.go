package common

import (
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/app"
)

// compactTransform is what the downstream cache keeps of each object: its managed fields go
// (nothing of ours reads them; they are a large part of every object), and the strings every
// object repeats, its namespace, label and annotation keys and the values of our own marker
// labels, are interned, so 10k cached objects share one copy of each instead of 10k
// (docs/performance.md). The object is otherwise unchanged: writes are merge patches computed
// from it.
//
// It writes nothing to an object it has transformed before (app.InternMeta).
func compactTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		in, err := strip(in)
		if err != nil {
			return in, err
		}
		o, ok := in.(client.Object)
		if !ok {
			return in, nil
		}
		app.InternMeta(o, ManagedByLabel, CreatedLabel)
		return in, nil
	}
}
