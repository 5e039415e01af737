// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinebroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	apiconsole "github.com/ironfed/ironfed/federation/api/console"
	"github.com/ironfed/ironfed/iri/exectoken"
)

// consoleProxy is the machine broker's console hop. Exec hands out a
// single-use URL of its own; redeeming it resolves the downstream Machine's
// pool, authenticates to that pool's machinepoollet with the broker's
// downstream identity (which the downstream cluster's RBAC must allow
// machines/exec, see federation/join) and splices the upgraded stream. The
// client never needs to reach the downstream cluster.
type consoleProxy struct {
	s        *store
	tokens   *exectoken.Tokens
	lis      net.Listener
	serverCA []byte
}

func newConsoleProxy(s *store) (*consoleProxy, error) {
	o := s.Opts.Console
	if o.BindAddress == "" {
		return nil, nil
	}
	c := &consoleProxy{s: s}
	if o.PoolletCAFile != "" {
		b, err := os.ReadFile(o.PoolletCAFile)
		if err != nil {
			return nil, fmt.Errorf("--downstream-console-ca-file: %w", err)
		}
		c.serverCA = b
	}
	lis, err := net.Listen("tcp", o.BindAddress)
	if err != nil {
		return nil, fmt.Errorf("exec server: %w", err)
	}
	c.lis = lis
	base := o.URL
	if base == "" {
		base = "http://" + lis.Addr().String()
	}
	c.tokens = exectoken.NewTokens(base, 0)
	return c, nil
}

// hop names the broker in the console session metrics.
const hop = "machinebroker"

func (c *consoleProxy) level() string { return "downstream cluster " + c.s.DownstreamName() }

// url checks that machine id runs downstream and returns a single-use URL.
func (c *consoleProxy) url(ctx context.Context, id string) (string, error) {
	m, err := c.s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if err := c.s.D.Unreachable(); err != nil {
		return "", status.Errorf(codes.Unavailable, "console of machine %s in %s: %v", id, c.level(), err)
	}
	if m.Status.State != computev1alpha1.MachineStateRunning {
		return "", status.Errorf(codes.FailedPrecondition, "machine %s is not Running in %s (state %q): its console opens once it runs", id, c.level(), m.Status.State)
	}
	return c.tokens.Issue(id), nil
}

func (c *consoleProxy) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := apiconsole.Redeem(w, r, c.tokens, hop)
	if !ok {
		return
	}
	level := c.level()
	u, err := apiconsole.Resolve(r.Context(), c.s.D.Cache, types.NamespacedName{Namespace: c.s.Namespace, Name: id}, level)
	if err != nil {
		apiconsole.CountSession(hop, apiconsole.ResultRefused)
		var ce *apiconsole.Error
		if errors.As(err, &ce) {
			apiconsole.WriteError(w, ce.Status, ce.Msg)
			return
		}
		apiconsole.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	t, err := apiconsole.TargetFor(c.s.D.Config, u, c.serverCA, c.s.Opts.Console.InsecureSkipVerify, "machinepoollet of "+level+" at "+u.Host)
	if err != nil {
		apiconsole.CountSession(hop, apiconsole.ResultError)
		apiconsole.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	t.Hop = hop
	c.s.Log.V(1).Info("Proxying a console", "machine", id, "to", u.String())
	apiconsole.Proxy(w, r, t)
}

func (c *consoleProxy) run(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/{token}", c.serve)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	c.s.Log.Info("Serving Exec URLs", "url", strings.TrimSuffix(c.tokens.BaseURL(), "/"))
	if err := srv.Serve(c.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
