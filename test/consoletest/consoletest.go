// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package consoletest drives a remotecommand console session from a test:
// type into it, wait for output, close it and collect its result.
package consoletest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// Protocol picks the client-go executor.
type Protocol string

const (
	SPDY      Protocol = "spdy"
	WebSocket Protocol = "websocket"
)

// Executor returns client-go's executor of protocol for rawURL. cfg may be
// nil (no credentials, plain transport).
func Executor(p Protocol, cfg *rest.Config, rawURL string) (remotecommand.Executor, error) {
	if cfg == nil {
		cfg = &rest.Config{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if p == WebSocket {
		return remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, rawURL)
	}
	return remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
}

// WithQuery adds the stream options a TTY console session asks for.
func WithQuery(rawURL string, tty bool) string {
	q := url.Values{"input": {"1"}, "output": {"1"}}
	if tty {
		q.Set("tty", "1")
	}
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	return rawURL + sep + q.Encode()
}

// Session is a running console session.
type Session struct {
	in   *io.PipeWriter
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start runs a session on e in the background.
func Start(ctx context.Context, e remotecommand.Executor, tty bool) *Session {
	pr, pw := io.Pipe()
	s := &Session{in: pw, out: &syncBuffer{}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: pr, Stdout: s.out, Tty: tty})
		_ = pr.Close()
	}()
	return s
}

// Type sends text to the console.
func (s *Session) Type(text string) error {
	_, err := io.WriteString(s.in, text)
	return err
}

// WaitFor waits until the output contains want; it fails early when the
// session ends.
func (s *Session) WaitFor(want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(s.out.String(), want) {
			return nil
		}
		select {
		case <-s.done:
			if strings.Contains(s.out.String(), want) {
				return nil
			}
			return fmt.Errorf("session ended (%v) before %q appeared; output: %q", s.err, want, s.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%q did not appear within %s; output: %q", want, timeout, s.out.String())
		}
	}
}

// Output is everything the console printed so far.
func (s *Session) Output() string { return s.out.String() }

// Close ends the input and returns the session's result.
func (s *Session) Close(timeout time.Duration) error {
	_ = s.in.Close()
	return s.Wait(timeout)
}

// Wait returns the session's result once it ended.
func (s *Session) Wait(timeout time.Duration) error {
	select {
	case <-s.done:
		return s.err
	case <-time.After(timeout):
		return fmt.Errorf("session did not end within %s", timeout)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
