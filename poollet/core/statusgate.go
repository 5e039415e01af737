// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"sync"
	"time"
)

// statusEventShare is how many status writes completed in a busy period earn one forwarded Event
// while status writes are in flight.
const statusEventShare = 10

// maxEventDelay bounds how long a forwarded Event yields to status writes.
const maxEventDelay = 30 * time.Second

// statusGate lets a poollet's forwarded Events yield to its status writes. Both go to the same
// apiserver, and under a burst of state changes the status writes are what the levels above and
// the users wait for: in BenchmarkStatusPropagation the Events of the creates just before (0.6–0.8
// per flip at every level, forwarded level by level) were written in the middle of the burst.
// While status writes are in flight an Event waits until statusEventShare more writes completed
// (so Events still trickle through a long busy period), and goes once none is in flight or after
// maxEventDelay. Every Event is still written, with its original time.
type statusGate struct {
	mu       sync.Mutex
	inFlight int
	done     int64 // status writes completed in this busy period
	passed   int64 // Events let through in this busy period
	waiting  int   // Events waiting (tests)
	changed  chan struct{}
}

func newStatusGate() *statusGate { return &statusGate{changed: make(chan struct{})} }

// begin notes a status write sent. The first of a busy period starts the share's count afresh.
func (g *statusGate) begin() {
	if g == nil {
		return
	}
	g.mu.Lock()
	if g.inFlight == 0 {
		g.done, g.passed = 0, 0
	}
	g.inFlight++
	g.mu.Unlock()
}

// end notes a status write done, whatever its outcome.
func (g *statusGate) end() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.inFlight--
	g.done++
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// wait returns when an Event may be written: no status write in flight, its share earned,
// maxEventDelay passed, or ctx done.
func (g *statusGate) wait(ctx context.Context) {
	if g == nil {
		return
	}
	timeout := time.NewTimer(maxEventDelay)
	defer timeout.Stop()
	g.mu.Lock()
	g.waiting++
	defer func() { g.waiting--; g.mu.Unlock() }()
	for {
		if g.inFlight == 0 {
			return
		}
		if g.passed*statusEventShare < g.done {
			g.passed++
			return
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
			g.mu.Lock()
		case <-timeout.C:
			g.mu.Lock()
			return
		case <-ctx.Done():
			g.mu.Lock()
			return
		}
	}
}
