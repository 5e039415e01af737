package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// milestone is one thing that becomes true while the federation recovers.
type milestone struct {
	what string
	done func(ctx context.Context) bool
}

// timeline polls milestones every 100 ms from start and records when each first holds, so a
// recovery figure can be broken down into what waited. Stop it to get the timeline as text.
type timeline struct {
	start  time.Time
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	at     map[string]time.Duration
	order  []string
}

func startTimeline(start time.Time, ms []milestone) *timeline {
	ctx, cancel := context.WithCancel(context.Background())
	tl := &timeline{start: start, cancel: cancel, at: map[string]time.Duration{}}
	for _, m := range ms {
		tl.order = append(tl.order, m.what)
		tl.wg.Go(func() {
			for ctx.Err() == nil {
				pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
				ok := m.done(pctx)
				pcancel()
				if ok {
					tl.mu.Lock()
					tl.at[m.what] = time.Since(start)
					tl.mu.Unlock()
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	return tl
}

// stop ends the polling and describes when each milestone held, relative to start.
func (tl *timeline) stop() string {
	tl.cancel()
	tl.wg.Wait()
	var b strings.Builder
	for _, w := range tl.order {
		if d, ok := tl.at[w]; ok {
			fmt.Fprintf(&b, "\n  +%5.1fs %s", d.Seconds(), w)
		} else {
			fmt.Fprintf(&b, "\n  never  %s", w)
		}
	}
	return b.String()
}
