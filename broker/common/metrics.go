package common

import (
	"errors"
	"fmt"
	"net/http"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// metricsServerOptions serve /metrics on addr ("0" disables it). With --metrics-secure the
// callers are reviewed (TokenReview, SubjectAccessReview) by the cluster the broker runs in, not
// by the downstream one its manager is built on: the downstream apiserver knows neither the
// scrapers' tokens nor grants the broker's join identity the reviews.
func (o Options) metricsServerOptions(addr string) (metricsserver.Options, error) {
	m := o.MetricsSecurity.ServerOptions(addr)
	if !o.MetricsSecurity.Secure || addr == "0" {
		return m, nil
	}
	cfg, err := o.metricsReviewConfig()
	if err != nil {
		return m, err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return m, fmt.Errorf("--metrics-review-kubeconfig: %w", err)
	}
	m.FilterProvider = func(*rest.Config, *http.Client) (metricsserver.Filter, error) {
		return filters.WithAuthenticationAndAuthorization(cfg, hc)
	}
	return m, nil
}

// metricsReviewConfig: --metrics-review-kubeconfig, else the in-cluster config (the pod's
// ServiceAccount).
func (o Options) metricsReviewConfig() (*rest.Config, error) {
	if o.MetricsReviewKubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", o.MetricsReviewKubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--metrics-review-kubeconfig %s: %w", o.MetricsReviewKubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, errors.New("--metrics-secure reviews /metrics callers with the cluster the broker runs in: not in a pod (no in-cluster config), so set --metrics-review-kubeconfig")
	}
	if err != nil {
		return nil, fmt.Errorf("--metrics-secure reviews /metrics callers with the in-cluster config (or set --metrics-review-kubeconfig): %w", err)
	}
	return cfg, nil
}
