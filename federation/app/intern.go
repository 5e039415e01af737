// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"strings"
	"sync"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Informers decode every object's strings anew, though most repeat across a cluster's objects
// (namespace, finalizers, label and annotation keys, classes, condition types and reasons).
// Interned, the cache holds each once (docs/performance.md: broker and poollet at 10k objects).
//
// The table is ours rather than package unique's, whose canonical copies are dropped once no
// handle refers to them, so objects decoded after a GC would get new copies. It is bounded:
// past maxInterned distinct strings, new ones are left as they are.
var internTable = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

const maxInterned = 16384

// interned returns the canonical copy of s; same is true when s is that copy already (or is not
// to be interned).
func interned(s string) (canonical string, same bool) {
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

// Intern makes *p the canonical copy of its value. It writes only when *p is not that copy yet:
// a cache transform runs again on an object already in the store (a resumed watch hands the
// store's own object back in a Deleted event, resync.go) while readers may hold it.
func Intern[S ~string](p *S) {
	if c, same := interned(string(*p)); !same {
		*p = S(c)
	}
}

// InternMeta interns o's namespace, finalizers, label and annotation keys, and the values of the
// labels named in valuesOf (markers every object carries alike), writing only what changes.
func InternMeta(o metav1.Object, valuesOf ...string) {
	ns := o.GetNamespace()
	if c, same := interned(ns); !same {
		o.SetNamespace(c)
	}
	f := o.GetFinalizers()
	for i := range f {
		Intern(&f[i])
	}
	l := o.GetLabels()
	for k, v := range l {
		ck, sameKey := interned(k)
		sameValue := true
		for _, name := range valuesOf {
			if k == name {
				v, sameValue = interned(v)
			}
		}
		if !sameKey || !sameValue {
			l[ck] = v // assigning to a present key stores the given key in place
		}
	}
	a := o.GetAnnotations()
	for k, v := range a {
		if ck, same := interned(k); !same {
			a[ck] = v
		}
	}
}
