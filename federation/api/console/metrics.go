// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Results of a console session, the result label of ironfed_console_sessions_total.
const (
	// ResultCompleted: the stream was upgraded end to end and has ended.
	ResultCompleted = "completed"
	// ResultUnauthenticated and ResultForbidden: this hop refused the caller (401, 403).
	ResultUnauthenticated = "unauthenticated"
	ResultForbidden       = "forbidden"
	// ResultInvalidToken: an Exec URL unknown, used or expired.
	ResultInvalidToken = "invalid_token"
	// ResultRefused: this hop or one below answered without upgrading (not Running, not
	// found, a lower level's refusal).
	ResultRefused = "refused"
	// ResultUnreachable: the next hop could not be reached or its TLS handshake failed.
	ResultUnreachable = "unreachable"
	// ResultError: this hop failed on its own (credentials, hijacking the connection).
	ResultError = "error"
)

var (
	sessionsActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ironfed_console_sessions_active",
		Help: "Console sessions this process is proxying right now, by hop (machinepoollet, machinebroker).",
	}, []string{"hop"})
	sessionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_console_sessions_total",
		Help: "Console sessions this process handled, by hop and result (completed, unauthenticated, forbidden, invalid_token, refused, unreachable, error).",
	}, []string{"hop", "result"})
)

func init() { ctrlmetrics.Registry.MustRegister(sessionsActive, sessionsTotal) }

// CountSession records a session of hop that ended with result.
func CountSession(hop, result string) { sessionsTotal.WithLabelValues(hopLabel(hop), result).Inc() }

func hopLabel(hop string) string {
	if hop == "" {
		return "proxy"
	}
	return hop
}
