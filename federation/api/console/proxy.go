// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// handshakeTimeout bounds dialing the next hop and its upgrade answer.
const handshakeTimeout = 30 * time.Second

// Target is the next hop of a console and the credentials this hop shows it.
type Target struct {
	// URL of the next hop; its query is kept, or the request's is used when
	// it has none.
	URL *url.URL
	// TLS configures https targets (client certificate, roots).
	TLS *tls.Config
	// Header is added to the forwarded request (e.g. Authorization). The
	// caller's own Authorization is never forwarded: each hop authenticates
	// with its own identity.
	Header http.Header
	// Level names the next hop in errors ("downstream cluster eu-1").
	Level string
	// Hop names this hop in the session metrics ("machinepoollet", "machinebroker").
	Hop string
}

// forwarded are the request headers a console upgrade needs end to end.
var forwarded = []string{"Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "X-Stream-Protocol-Version", "Origin", "User-Agent"}

// Proxy forwards an upgrade request (SPDY or WebSocket: the protocol is
// negotiated end to end, this hop only splices bytes) to t and copies the
// upgraded connection both ways until either side closes. A refusal by the
// next hop is passed back as is; failing to reach it is a 502 naming it.
func Proxy(w http.ResponseWriter, r *http.Request, t Target) {
	up, br, resp, err := dial(r, t)
	if err != nil {
		CountSession(t.Hop, ResultUnreachable)
		WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		CountSession(t.Hop, ResultRefused)
		defer up.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
		return
	}
	rc := http.NewResponseController(w)
	down, dbuf, err := rc.Hijack()
	if err != nil {
		CountSession(t.Hop, ResultError)
		_ = up.Close()
		WriteError(w, http.StatusInternalServerError, "cannot take over the connection: "+err.Error())
		return
	}
	if err := resp.Write(down); err != nil {
		CountSession(t.Hop, ResultError)
		_ = up.Close()
		_ = down.Close()
		return
	}
	g := sessionsActive.WithLabelValues(hopLabel(t.Hop))
	g.Inc()
	splice(down, dbuf.Reader, up, br)
	g.Dec()
	CountSession(t.Hop, ResultCompleted)
}

// dial sends r's upgrade to t and reads the answer.
func dial(r *http.Request, t Target) (net.Conn, *bufio.Reader, *http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), handshakeTimeout)
	defer cancel()
	host := t.URL.Host
	if t.URL.Port() == "" {
		host = net.JoinHostPort(t.URL.Hostname(), map[bool]string{true: "443", false: "80"}[t.URL.Scheme == "https"])
	}
	d := net.Dialer{Timeout: handshakeTimeout, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s is unreachable: %v", t.Level, err)
	}
	if t.URL.Scheme == "https" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if t.TLS != nil {
			cfg = t.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = t.URL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"} // upgrades need HTTP/1.1
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, nil, nil, fmt.Errorf("%s: TLS handshake: %v", t.Level, err)
		}
		conn = tc
	}
	u := *t.URL
	if u.RawQuery == "" {
		u.RawQuery = r.URL.RawQuery
	}
	out, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		_ = conn.Close()
		return nil, nil, nil, err
	}
	for _, h := range forwarded {
		if v := r.Header.Values(h); len(v) > 0 {
			out.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	for k, v := range t.Header {
		out.Header[k] = v
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if err := out.Write(conn); err != nil {
		_ = conn.Close()
		return nil, nil, nil, fmt.Errorf("%s: sending the console request: %v", t.Level, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		_ = conn.Close()
		return nil, nil, nil, fmt.Errorf("%s: reading the console answer: %v", t.Level, err)
	}
	_ = conn.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols && !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		// A plain-text refusal: wrap it so clients show it.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		_ = conn.Close()
		rec := &statusRecorder{header: http.Header{}}
		WriteError(rec, resp.StatusCode, fmt.Sprintf("%s: %s", t.Level, strings.TrimSpace(string(b))))
		return nopConn{}, nil, rec.response(), nil
	}
	return conn, br, resp, nil
}

// active counts the sessions being spliced in this process.
var active atomic.Int64

// ActiveSessions is the number of console sessions this process is proxying
// right now (every hop of a local federation counts its own).
func ActiveSessions() int64 { return active.Load() }

// splice copies both ways and closes both connections once either side ends,
// so no goroutine or connection outlives the session.
func splice(down net.Conn, downBuf io.Reader, up net.Conn, upBuf io.Reader) {
	active.Add(1)
	defer active.Add(-1)
	var once sync.Once
	closeBoth := func() { once.Do(func() { _ = down.Close(); _ = up.Close() }) }
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(up, downBuf); closeBoth() })
	wg.Go(func() { _, _ = io.Copy(down, upBuf); closeBoth() })
	wg.Wait()
}
