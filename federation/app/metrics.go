// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// MetricsSecurity is how /metrics is protected. Off by default, /metrics is plain HTTP on
// loopback unless --metrics-bind-address says otherwise; with Secure it is HTTPS and every
// request needs a bearer token that the apiserver authenticates (TokenReview) and authorizes
// (SubjectAccessReview: verb get on the non-resource URL /metrics), as kube-rbac-proxy does.
// The identity of the binary then needs create on tokenreviews.authentication.k8s.io and
// subjectaccessreviews.authorization.k8s.io.
type MetricsSecurity struct {
	Secure bool
	// CertDir holds tls.crt and tls.key; empty makes a self-signed certificate at start-up.
	CertDir string
}

// AddFlags binds --metrics-secure and --metrics-cert-dir.
func (m *MetricsSecurity) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&m.Secure, "metrics-secure", m.Secure, "Serve /metrics over HTTPS to callers whose bearer token the apiserver authenticates and authorizes for GET /metrics (needs create on tokenreviews and subjectaccessreviews).")
	fs.StringVar(&m.CertDir, "metrics-cert-dir", m.CertDir, "Directory with tls.crt and tls.key for --metrics-secure; empty uses a self-signed certificate.")
}

// ServerOptions are the controller-runtime metrics server options for addr ("0" disables it).
func (m MetricsSecurity) ServerOptions(addr string) metricsserver.Options {
	o := metricsserver.Options{BindAddress: addr}
	if m.Secure {
		o.SecureServing = true
		o.FilterProvider = filters.WithAuthenticationAndAuthorization
		o.CertDir = m.CertDir
		if m.CertDir != "" {
			o.CertName, o.KeyName = "tls.crt", "tls.key"
		}
	}
	return o
}
