package localfed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A component runs until ctx ends; ready is called once it serves. Returning early is a crash.
type component func(ctx context.Context, ready func()) error

// supervise runs a component the way a kubelet runs a pod with restartPolicy Always: when it
// ends before Down (a manager loses its leader lease while its apiserver is down, a broker's
// cache fails), it is started again after a backoff of 1 s doubling to 30 s. It returns once
// the first run is ready, or with the first run's error if it fails before that.
func (f *Federation) supervise(what string, readyTimeout time.Duration, run component) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ready := make(chan struct{})
	var once sync.Once
	firstErr := make(chan error, 1)
	go func() {
		defer close(done)
		backoff := time.Second
		for attempt := 0; ; attempt++ {
			started := time.Now()
			err := run(ctx, func() { once.Do(func() { close(ready) }) })
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("returned without error")
			}
			if attempt == 0 {
				select {
				case <-ready:
				default:
					firstErr <- err
					return
				}
			}
			f.noteRestart(what)
			if time.Since(started) > time.Minute {
				backoff = time.Second
			}
			f.logf("%s stopped: %v; restarting in %s", what, err, backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}()
	f.onStop(func() { cancel(); <-done })
	select {
	case <-ready:
		return nil
	case err := <-firstErr:
		return fmt.Errorf("%s: %w", what, err)
	case <-time.After(readyTimeout):
		return fmt.Errorf("%s not ready within %s", what, readyTimeout)
	}
}

func (f *Federation) noteRestart(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.restarts == nil {
		f.restarts = map[string]int{}
	}
	f.restarts[what]++
}

// Restarts reports how often each component was restarted after it stopped on its own.
func (f *Federation) Restarts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.restarts))
	for k, v := range f.restarts {
		out[k] = v
	}
	return out
}
