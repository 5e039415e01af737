package common

import (
	"strings"
	"sync"
	"unsafe"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// compactTransform is what the downstream cache keeps of each object: its managed fields go
// (nothing of ours reads them; they are a large part of every object), and the strings every
// object repeats, its namespace, label and annotation keys and the values of our own marker
// labels, are interned, so 10k cached objects share one copy of each instead of 10k
// (docs/performance.md). The object is otherwise unchanged: writes are merge patches computed
// from it.
//
// It writes nothing to an object it has transformed before: a resumed watch hands the store's
// own object back in a Deleted event (federation/app resync), and readers may hold it.
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
		if ns, ok := interned(o.GetNamespace()); !ok {
			o.SetNamespace(ns)
		}
		l := o.GetLabels()
		for k, v := range l {
			ik, kok := interned(k)
			vok := true
			if k == ManagedByLabel || k == CreatedLabel {
				v, vok = interned(v)
			}
			if !kok || !vok {
				l[ik] = v // assigning to a present key stores the given key in place
			}
		}
		a := o.GetAnnotations()
		for k, v := range a {
			if ik, ok := interned(k); !ok {
				a[ik] = v
			}
		}
		return in, nil
	}
}

// internTable holds the canonical copies. It is ours rather than package unique's, whose copies
// are reclaimed once no handle refers to them, so objects decoded after a GC would get new ones.
// Keys and marker values are few; past maxInterned strings are left as they are.
var internTable = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

const maxInterned = 4096

// interned returns the canonical copy of s; ok when s is that copy already (or is not to be
// interned).
func interned(s string) (string, bool) {
	if s == "" {
		return s, true
	}
	internTable.RLock()
	c, found := internTable.m[s]
	internTable.RUnlock()
	if !found {
		internTable.Lock()
		if c, found = internTable.m[s]; !found {
			if len(internTable.m) >= maxInterned {
				internTable.Unlock()
				return s, true
			}
			c = strings.Clone(s)
			internTable.m[c] = c
		}
		internTable.Unlock()
	}
	return c, unsafe.StringData(c) == unsafe.StringData(s)
}
