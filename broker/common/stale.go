// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package common

import (
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// informerStores records the informers the cache creates, by object type: controller-runtime hands
// out namespace-wrapping informers without their stores, and dropping an entry the apiserver no
// longer has, or reading an index of our own (uidindex.go), needs the informer itself.
type informerStores struct {
	mu     sync.Mutex
	byType map[reflect.Type][]toolscache.SharedIndexInformer
}

type newInformerFunc = func(toolscache.ListerWatcher, runtime.Object, time.Duration, toolscache.Indexers) toolscache.SharedIndexInformer

func (s *informerStores) wrap(next newInformerFunc) newInformerFunc {
	return func(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
		inf := next(lw, obj, resync, indexers)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.byType == nil {
			s.byType = map[reflect.Type][]toolscache.SharedIndexInformer{}
		}
		t := reflect.TypeOf(obj)
		s.byType[t] = append(s.byType[t], inf)
		return inf
	}
}

// drop removes obj's key from every store of its type; false when none held it.
func (s *informerStores) drop(obj client.Object) bool {
	if s == nil {
		return false
	}
	dropped := false
	for _, inf := range s.of(obj) {
		if st := inf.GetStore(); st != nil {
			if _, ok, _ := st.Get(obj); ok && st.Delete(obj) == nil {
				dropped = true
			}
		}
	}
	return dropped
}

// of returns the informers of obj's type.
func (s *informerStores) of(obj runtime.Object) []toolscache.SharedIndexInformer {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byType[reflect.TypeOf(obj)]
}
