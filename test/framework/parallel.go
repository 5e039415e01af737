package framework

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Parallel calls fn(0..n-1) from workers goroutines, as benchmarks drive an apiserver with
// concurrent writers; the first error fails tb once all workers stopped.
func Parallel(tb testing.TB, n, workers int, fn func(i int) error) {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		tb.Fatal(err)
	}
}
