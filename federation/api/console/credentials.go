// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"k8s.io/client-go/rest"
)

// TargetFor returns the credentials of cfg's identity (bearer token or
// client certificate) for a machinepoollet's console endpoint at u. The
// poollet's serving certificate is verified against serverCA (PEM), or
// without one against cfg's CA (the poollet's cluster CA, which issues
// the poollets' certificates in a local federation), or the system roots
// when cfg has none. Only insecure skips the verification
// (docs/console.md).
func TargetFor(cfg *rest.Config, u *url.URL, serverCA []byte, insecure bool, level string) (Target, error) {
	t := Target{URL: u, Header: http.Header{}, Level: level}
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return t, fmt.Errorf("%s: credentials: %w", level, err)
	}
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsCfg.ServerName = ""
	if len(serverCA) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(serverCA) {
			return t, fmt.Errorf("%s: the console CA bundle holds no PEM certificate", level)
		}
		tlsCfg.RootCAs = pool
	}
	tlsCfg.InsecureSkipVerify = insecure //nolint:gosec // only on an explicit --insecure-… flag
	t.TLS = tlsCfg
	token := cfg.BearerToken
	if token == "" && cfg.BearerTokenFile != "" {
		b, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return t, fmt.Errorf("%s: reading the bearer token: %w", level, err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		t.Header.Set("Authorization", "Bearer "+token)
	}
	return t, nil
}
