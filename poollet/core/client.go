// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClientOptions configure the Kubernetes client. The rate limits default far above client-go's
// 5 QPS, which would cap a poollet at a few creates per second.
type ClientOptions struct {
	Kubeconfig string
	QPS        float32
	Burst      int
}

// DefaultClientOptions are the flag defaults.
func DefaultClientOptions() ClientOptions { return ClientOptions{QPS: 500, Burst: 1000} }

// AddFlags binds the options.
func (o *ClientOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig; empty uses the in-cluster config.")
	fs.Float32Var(&o.QPS, "kube-api-qps", o.QPS, "QPS to the API server.")
	fs.IntVar(&o.Burst, "kube-api-burst", o.Burst, "Burst to the API server.")
}

// RESTConfig loads the kubeconfig and applies the rate limits.
func (o ClientOptions) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	return cfg, nil
}
