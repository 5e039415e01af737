// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Intern returns s sharing its memory with every equal string interned before. The informer
// decodes every object's strings anew, though most are alike across a pool's objects (namespace,
// finalizer, class, condition types, reasons and messages): interned, they are held once.
func Intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

// CacheCompactor is implemented by kinds whose cached objects hold strings that repeat across
// objects: CompactCached interns them (with Intern) before the object is cached.
type CacheCompactor[K client.Object] interface {
	CompactCached(obj K)
}

// cacheTransform is what the cache applies to every object before keeping it: managed fields
// stripped (nothing of ours reads them; they are often the bulk of an object), the metadata
// strings objects share interned, and the kind's own compaction when compact is set.
func cacheTransform[K client.Object](compact CacheCompactor[K]) toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		out, err := strip(in)
		if err != nil {
			return out, err
		}
		if o, ok := out.(metav1.Object); ok {
			o.SetNamespace(Intern(o.GetNamespace()))
			f := o.GetFinalizers()
			for i := range f {
				f[i] = Intern(f[i])
			}
		}
		if k, ok := out.(K); ok && compact != nil {
			compact.CompactCached(k)
		}
		return out, nil
	}
}
