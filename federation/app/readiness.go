// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package app is the process scaffolding every ironfed binary built on controller-runtime shares:
// readiness that standbys pass, leader-election helpers, and the flags around them.
package app

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// CacheSynced is a /readyz check that passes once the manager's informer caches have synced.
// It runs on every replica, leader or not: caches start before leader election, and a standby
// that is ready to take over must report ready, or a surge rollout never finishes.
type CacheSynced struct {
	mgr    manager.Manager
	synced atomic.Bool
}

// AddCacheSynced registers the check's runnable (outside leader election) and returns the check.
func AddCacheSynced(mgr manager.Manager) (*CacheSynced, error) {
	c := &CacheSynced{mgr: mgr}
	return c, mgr.Add(c)
}

// Start waits for the caches, then blocks until ctx ends.
func (c *CacheSynced) Start(ctx context.Context) error {
	if c.mgr.GetCache().WaitForCacheSync(ctx) {
		c.synced.Store(true)
	}
	<-ctx.Done()
	return nil
}

// NeedLeaderElection is false: readiness must not depend on being the leader.
func (c *CacheSynced) NeedLeaderElection() bool { return false }

// Check is the healthz.Checker.
func (c *CacheSynced) Check(*http.Request) error {
	if !c.synced.Load() {
		return errors.New("informer caches not synced yet")
	}
	return nil
}

// IsLeader reports without blocking whether mgr won the election (always true without election).
func IsLeader(mgr manager.Manager) bool {
	select {
	case <-mgr.Elected():
		return true
	default:
		return false
	}
}

// LeaderOnly wraps a check that only means something on the leader (e.g. "the runtime has been
// listed", which only the leader does): standbys pass it.
func LeaderOnly(mgr manager.Manager, check healthz.Checker) healthz.Checker {
	return func(req *http.Request) error {
		if !IsLeader(mgr) {
			return nil
		}
		return check(req)
	}
}

// AddHealthChecks adds a ping /healthz and the given named /readyz checks.
func AddHealthChecks(mgr manager.Manager, ready map[string]healthz.Checker) error {
	errs := []error{mgr.AddHealthzCheck("ping", healthz.Ping)}
	for name, c := range ready {
		errs = append(errs, mgr.AddReadyzCheck(name, c))
	}
	return errors.Join(errs...)
}
