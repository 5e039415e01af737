// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package console serves the URLs a provider's IRI Exec hands out with
// Kubernetes' remotecommand protocol, as kubelet's streaming server does:
// SPDY (v1 to v4.channel.k8s.io) and WebSocket (channel.k8s.io,
// v4.channel.k8s.io and v5.channel.k8s.io, the one client-go's WebSocket
// executor speaks). A provider supplies what a session is attached to.
package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	crirc "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	apiconsole "github.com/ironfed/ironfed/federation/api/console"
	"github.com/ironfed/ironfed/iri/exectoken"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// TerminalSize is a terminal's size, as the client reports it.
type TerminalSize = crirc.TerminalSize

// Session is one attached console.
type Session struct {
	// Target is what the token was issued for (a machine ID).
	Target string
	// Stdin is nil when the client sends no input.
	Stdin io.Reader
	// Stdout is where the console writes; never nil.
	Stdout io.Writer
	// TTY is set when the client has a terminal (raw mode).
	TTY bool
	// Resize delivers terminal sizes; nil without a terminal.
	Resize <-chan TerminalSize
}

// Backend is what sessions attach to.
type Backend interface {
	// Check runs before the connection is upgraded: a domain error
	// (runtimeerr) is answered with a matching HTTP status and its message.
	Check(target string) error
	// Attach serves a session until it ends: nil for a normal end (the
	// client closed its input), an error the client shows otherwise.
	Attach(ctx context.Context, s Session) error
}

// Server serves <base>/exec/<token>.
type Server struct {
	Tokens  *exectoken.Tokens
	Backend Backend
	Log     logr.Logger
	// IdleTimeout ends a session without traffic (default 4h, kubelet's).
	IdleTimeout time.Duration
}

// New returns a server for URLs under baseURL.
func New(baseURL string, b Backend, log logr.Logger) *Server {
	return &Server{Tokens: exectoken.NewTokens(baseURL, 0), Backend: b, Log: log, IdleTimeout: 4 * time.Hour}
}

// URL returns a single-use URL of target's console; Unsupported when the
// provider runs without an exec server.
func (s *Server) URL(target string) (string, error) {
	if s.Tokens.BaseURL() == "" {
		return "", runtimeerr.Errorf(runtimeerr.KindUnsupported, "Exec is not available: this provider runs without an exec server (start it with --exec-bind-address)")
	}
	return s.Tokens.Issue(target), nil
}

// Handler serves the URLs.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/{token}", s.serve)
	return mux
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target, ok := apiconsole.Redeem(w, r, s.Tokens, "provider")
	if !ok {
		return
	}
	if err := s.Backend.Check(target); err != nil {
		apiconsole.WriteError(w, HTTPStatus(err), err.Error())
		return
	}
	opts, err := streamOptions(r)
	if err != nil {
		apiconsole.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	log := s.Log.WithValues("target", target)
	log.V(1).Info("Console session starting", "tty", opts.TTY, "websocket", wsstream.IsWebSocketRequest(r))
	if wsstream.IsWebSocketRequestWithStreamCloseProtocol(r) {
		s.serveV5(w, r, target, opts, log)
		return
	}
	// SPDY and the older WebSocket protocols: kubelet's own server.
	crirc.ServeAttach(w, r, attacher{s, target}, "", "", "", opts, s.IdleTimeout, crirc.DefaultStreamCreationTimeout, crirc.SupportedStreamingProtocols)
	log.V(1).Info("Console session ended")
}

// streamOptions reads the streams the client asks for. A URL without any
// (upstream irictl uses the Exec URL as is) gets a console: input, output
// and a terminal.
func streamOptions(r *http.Request) (*crirc.Options, error) {
	q := r.URL.Query()
	if !q.Has(crirc.ExecStdinParam) && !q.Has(crirc.ExecStdoutParam) && !q.Has(crirc.ExecStderrParam) {
		return &crirc.Options{Stdin: true, Stdout: true, TTY: true}, nil
	}
	return crirc.NewOptions(r)
}

// attacher adapts Backend to kubelet's streaming server.
type attacher struct {
	s      *Server
	target string
}

func (a attacher) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, _ io.WriteCloser, tty bool, resize <-chan crirc.TerminalSize) error {
	return a.s.Backend.Attach(ctx, Session{Target: a.target, Stdin: in, Stdout: writerOrDiscard(out), TTY: tty, Resize: resize})
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// HTTPStatus maps a domain error to the status a console URL answers.
func HTTPStatus(err error) int {
	switch {
	case errors.Is(err, runtimeerr.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, runtimeerr.ErrFailedPrecondition):
		return http.StatusConflict
	case errors.Is(err, runtimeerr.ErrInvalid):
		return http.StatusBadRequest
	default:
		return http.StatusServiceUnavailable
	}
}
