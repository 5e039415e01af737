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
// longer has needs the store itself.
type informerStores struct {
	mu     sync.Mutex
	byType map[reflect.Type][]toolscache.Store
}

type newInformerFunc = func(toolscache.ListerWatcher, runtime.Object, time.Duration, toolscache.Indexers) toolscache.SharedIndexInformer

func (s *informerStores) wrap(next newInformerFunc) newInformerFunc {
	return func(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
		inf := next(lw, obj, resync, indexers)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.byType == nil {
			s.byType = map[reflect.Type][]toolscache.Store{}
		}
		t := reflect.TypeOf(obj)
		s.byType[t] = append(s.byType[t], inf.GetStore())
		return inf
	}
}

// drop removes obj's key from every store of its type; false when none held it.
func (s *informerStores) drop(obj client.Object) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	stores := s.byType[reflect.TypeOf(obj)]
	s.mu.Unlock()
	dropped := false
	for _, st := range stores {
		if _, ok, _ := st.Get(obj); ok && st.Delete(obj) == nil {
			dropped = true
		}
	}
	return dropped
}
