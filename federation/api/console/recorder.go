// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"bytes"
	"io"
	"net"
	"net/http"
)

// statusRecorder captures a WriteError answer as an *http.Response.
type statusRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) WriteHeader(code int)        { r.code = code }
func (r *statusRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func (r *statusRecorder) response() *http.Response {
	return &http.Response{StatusCode: r.code, Header: r.header, Body: io.NopCloser(&r.body)}
}

// nopConn stands for a connection already closed.
type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }
