// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package console opens a Machine's console from the cluster it was created
// in: it finds the machinepoollet serving the Machine's pool, authenticates
// with the caller's own identity (the cluster's RBAC decides, by
// SubjectAccessReview of machines/exec) and speaks Kubernetes remotecommand
// (WebSocket, falling back to SPDY) through every hop down to the leaf
// (docs/console.md).
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"sigs.k8s.io/controller-runtime/pkg/client"

	apiconsole "github.com/ironfed/ironfed/federation/api/console"
)

// Options of one console session.
type Options struct {
	// Config is the caller's identity in the cluster holding the Machine.
	Config *rest.Config
	// Machine to open.
	Machine types.NamespacedName
	// Level names the cluster in errors (default "root cluster").
	Level string
	// PoolletCA (PEM) verifies the machinepoollet's serving certificate;
	// empty: Config's CA (the cluster's) does. Config's
	// TLSClientConfig.Insecure skips the verification.
	PoolletCA []byte
	Stdin     io.Reader
	Stdout    io.Writer
	// TTY asks for a terminal session; Sizes reports its size (may be nil).
	TTY   bool
	Sizes remotecommand.TerminalSizeQueue
}

// URL resolves where the console of o.Machine is served.
func URL(ctx context.Context, c client.Reader, o Options) (*url.URL, error) {
	level := o.Level
	if level == "" {
		level = "root cluster"
	}
	return apiconsole.Resolve(ctx, c, o.Machine, level)
}

// Run opens the console and streams until it ends: nil when the input ended
// (or the escape was typed), the error of the hop that failed otherwise.
func Run(ctx context.Context, c client.Reader, o Options) error {
	u, err := URL(ctx, c, o)
	if err != nil {
		return err
	}
	q := url.Values{"input": {"1"}, "output": {"1"}}
	if o.TTY {
		q.Set("tty", "1")
	}
	u.RawQuery = q.Encode()
	e, err := Executor(o.Config, u, o.PoolletCA)
	if err != nil {
		return err
	}
	return e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: o.Stdin, Stdout: o.Stdout, Tty: o.TTY, TerminalSizeQueue: o.Sizes})
}

// Executor returns client-go's executor for a console URL served by a
// machinepoollet: WebSocket (v5.channel.k8s.io) first, SPDY when the
// endpoint does not upgrade WebSocket. A refusal (a Status answer: not
// authorized, not running, ...) is final, not retried over SPDY. The
// poollet's certificate is verified against poolletCA, or without one
// against cfg's CA; only cfg.TLSClientConfig.Insecure skips that.
func Executor(cfg *rest.Config, u *url.URL, poolletCA []byte) (remotecommand.Executor, error) {
	c := rest.CopyConfig(cfg)
	c.TLSClientConfig.ServerName = ""
	if len(poolletCA) > 0 {
		c.TLSClientConfig.CAFile, c.TLSClientConfig.CAData = "", poolletCA
	}
	if c.TLSClientConfig.Insecure {
		c.TLSClientConfig.CAFile, c.TLSClientConfig.CAData = "", nil
	}
	ws, err := remotecommand.NewWebSocketExecutor(c, http.MethodGet, u.String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c, http.MethodPost, u)
	if err != nil {
		return nil, err
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		var uf *httpstream.UpgradeFailureError
		if !errors.As(err, &uf) {
			return false
		}
		var se *apierrors.StatusError
		return !errors.As(uf.Cause, &se)
	})
}

// Describe turns a session error into one line naming what failed.
func Describe(m types.NamespacedName, err error) error {
	if err == nil {
		return nil
	}
	var uf *httpstream.UpgradeFailureError
	if errors.As(err, &uf) && uf.Cause != nil {
		err = uf.Cause // the hop's refusal, without client-go's "unable to upgrade"
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("console of %s: %s", m, se.ErrStatus.Message)
	}
	return fmt.Errorf("console of %s: %w", m, err)
}
