package common_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/volumebroker"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/test/brokertest"
	"github.com/ironfed/ironfed/test/framework"
)

// TestMetricsReviewedByHomeCluster: a broker's manager is built on the downstream cluster, yet with
// --metrics-secure its /metrics callers are reviewed by the cluster it runs in
// (--metrics-review-kubeconfig, else the in-cluster config): a scraper of that "home" cluster is
// answered, one of the downstream is not (issue 18 security).
func TestMetricsReviewedByHomeCluster(t *testing.T) {
	// The home cluster only reviews tokens: no CRDs, no controller-manager.
	home := framework.StartClusters(t, framework.ClustersInput{Names: []string{"home"},
		CRDs: []*apiextensionsv1.CustomResourceDefinition{}, WithoutControllerManager: true})[0]
	ports, err := localcluster.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	secure := func(o *common.Options) {
		o.PoolName = "vpool"
		o.MetricsBindAddress = addr
		o.MetricsSecurity.Secure = true
	}
	e := brokertest.Start(t, "volume", volumebroker.Run, nil, func(o *common.Options) {
		secure(o)
		o.MetricsReviewKubeconfig = home.KubeconfigPath
	})
	framework.CheckSecureMetrics(t, home.Config, addr)
	// A scraper the downstream allows is unknown to the home cluster (controller-runtime's filter
	// answers a token the apiserver cannot verify with 500: refused all the same).
	downstream := framework.MetricsToken(t, e.Cluster.Config, "downstream-scraper", true)
	if code, err := framework.GetMetrics(t.Context(), "https", addr, downstream); code == http.StatusOK || err != nil {
		t.Errorf("a scraper of the downstream cluster: got %d (%v), want a refusal", code, err)
	}

	// Outside a pod, without --metrics-review-kubeconfig, the broker refuses to start.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	opts := common.DefaultOptions("volume")
	opts.Namespace, opts.Address, opts.HealthProbeBindAddress = brokertest.Namespace, t.TempDir()+"/v.sock", "0"
	secure(&opts)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = volumebroker.Run(ctx, e.Cluster.Config, opts, logr.Discard(), nil)
	if err == nil || !strings.Contains(err.Error(), "--metrics-review-kubeconfig") {
		t.Errorf("--metrics-secure without a review config outside a pod: %v, want an error naming --metrics-review-kubeconfig", err)
	}
	t.Logf("broker /metrics on %s reviewed by cluster %s: 200 for its scraper, 401 without a token, 403 without the right, the downstream's scraper refused", addr, home.Name)
}
