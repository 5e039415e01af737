// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/app"
)

// CacheCompactor is implemented by kinds whose cached objects hold strings that repeat across
// objects: CompactCached interns them (with app.Intern, which writes only what changes: the
// transform runs again on objects already cached) before the object is cached.
type CacheCompactor[K client.Object] interface {
	CompactCached(obj K)
}

// cacheTransform is what the cache applies to every object before keeping it: managed fields
// stripped (nothing of ours reads them; they are often the bulk of an object), the metadata
// strings objects share interned (app.InternMeta), and the kind's own compaction when compact is set.
func cacheTransform[K client.Object](compact CacheCompactor[K]) toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		out, err := strip(in)
		if err != nil {
			return out, err
		}
		if o, ok := out.(metav1.Object); ok {
			app.InternMeta(o)
		}
		if k, ok := out.(K); ok && compact != nil {
			compact.CompactCached(k)
		}
		return out, nil
	}
}
