package controllermanager_test

import (
	"testing"

	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/test/framework"
)

// TestMetricsSecure: with --metrics-secure, /metrics is HTTPS and answers only callers whose
// bearer token the apiserver authenticates (401 otherwise) and authorizes for GET /metrics (403
// otherwise), as controller-runtime's secure serving does (issue 18 security).
func TestMetricsSecure(t *testing.T) {
	t.Parallel()
	var addr string
	e := startEnv(t, func(o *controllermanager.Options) {
		addr = freeAddr(t) // once the cluster runs: a port picked before may be taken by then
		o.MetricsBindAddress = addr
		o.MetricsSecurity.Secure = true
	})
	framework.CheckSecureMetrics(t, e.cfg, addr)
	t.Logf("secure /metrics on %s: 200 for the scraper, 401 without a token, refused with an unknown one, 403 without the right", addr)
}
