// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package exectoken hands out the single-use, short-lived URLs an IRI Exec
// returns (<base>/exec/<token>), for providers and brokers alike.
package exectoken

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultTokenTTL bounds how long an Exec URL stays usable, as upstream's
// streaming servers do (one minute).
const DefaultTokenTTL = time.Minute

// tokenRetention is how long a spent or expired token is remembered, so a
// reuse or a late use gets a precise answer rather than "unknown".
const tokenRetention = 10 * time.Minute

// Tokens hands out single-use, short-lived tokens naming a target (e.g. a
// machine ID): the URL Exec returns is <base>/exec/<token>.
type Tokens struct {
	baseURL string
	ttl     time.Duration
	now     func() time.Time

	mu     sync.Mutex
	tokens map[string]*token
}

type token struct {
	target  string
	expires time.Time
	spent   bool
}

// NewTokens returns a token store for URLs under baseURL; ttl <= 0 means
// DefaultTokenTTL.
func NewTokens(baseURL string, ttl time.Duration) *Tokens {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Tokens{baseURL: strings.TrimSuffix(baseURL, "/"), ttl: ttl, now: time.Now, tokens: map[string]*token{}}
}

// BaseURL is the base of the URLs the store hands out; empty when no
// server serves them.
func (t *Tokens) BaseURL() string { return t.baseURL }

// Issue returns a new single-use URL for target.
func (t *Tokens) Issue(target string) string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on failure)
	tok := hex.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for k, v := range t.tokens { // tokens are few and short-lived: a sweep is cheap
		if now.After(v.expires.Add(tokenRetention)) {
			delete(t.tokens, k)
		}
	}
	t.tokens[tok] = &token{target: target, expires: now.Add(t.ttl)}
	return t.baseURL + "/exec/" + tok
}

// RedeemError says why a token cannot be used, with the HTTP status to
// answer.
type RedeemError struct {
	Status int
	Msg    string
}

func (e *RedeemError) Error() string { return e.Msg }

// Redeem spends tok and returns its target.
func (t *Tokens) Redeem(tok string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.tokens[tok]
	switch {
	case !ok:
		return "", &RedeemError{http.StatusNotFound, "unknown exec token: call Exec for a URL"}
	case v.spent:
		return "", &RedeemError{http.StatusGone, "exec token already used: a URL opens one session; call Exec again"}
	case t.now().After(v.expires):
		return "", &RedeemError{http.StatusGone, fmt.Sprintf("exec token expired (URLs are valid for %s): call Exec again", t.ttl)}
	}
	v.spent = true
	return v.target, nil
}

// SetClock replaces the clock (tests use it to expire tokens).
func (t *Tokens) SetClock(now func() time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = now
}
