// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	goflag "flag"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// DefaultReconcileTimeout bounds one Reconcile call, and so every apiserver request made in it:
// a hung status patch fails and is retried instead of blocking a worker forever.
const DefaultReconcileTimeout = 2 * time.Minute

// ClientOptions configure the client of the cluster a component runs against.
type ClientOptions struct {
	// Kubeconfig path; empty uses the in-cluster config.
	Kubeconfig string
	// QPS and Burst of the client. client-go's defaults (5/10) would cap a controller at a few
	// writes a second, so ours are high: the apiserver's priority and fairness does the limiting.
	QPS   float32
	Burst int
}

// DefaultClientOptions are the flag defaults.
func DefaultClientOptions() ClientOptions { return ClientOptions{QPS: 500, Burst: 1000} }

// AddFlags binds --kubeconfig, --kube-api-qps and --kube-api-burst.
func (o *ClientOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig; empty uses the in-cluster config.")
	fs.Float32Var(&o.QPS, "kube-api-qps", o.QPS, "QPS to the API server.")
	fs.IntVar(&o.Burst, "kube-api-burst", o.Burst, "Burst to the API server.")
}

// RESTConfig loads the kubeconfig (or the in-cluster config) with the rate limits applied.
func (o ClientOptions) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	return cfg, nil
}

// ControllerConfig is the controller-runtime configuration every manager of ours uses: the
// reconcile timeout, and name validation off when several managers share a process (tests, the
// local launcher).
func ControllerConfig(skipNameValidation bool) config.Controller {
	return config.Controller{SkipNameValidation: &skipNameValidation, ReconciliationTimeout: DefaultReconcileTimeout}
}

// Main is the whole main function of a component: its flags (addFlags), the client and zap
// logging flags, signal handling, and run. It exits 1 with the error logged when run fails.
func Main(name string, addFlags func(*pflag.FlagSet), run func(ctx context.Context, cfg *rest.Config) error) {
	addFlags(pflag.CommandLine)
	clientOpts := DefaultClientOptions()
	clientOpts.AddFlags(pflag.CommandLine)
	zapOpts := zap.Options{}
	goflags := goflag.NewFlagSet("zap", goflag.ExitOnError)
	zapOpts.BindFlags(goflags)
	pflag.CommandLine.AddGoFlagSet(goflags)
	pflag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	cfg, err := clientOpts.RESTConfig()
	if err == nil {
		err = run(ctrl.SetupSignalHandler(), cfg)
	}
	if err != nil {
		ctrl.Log.Error(err, name+" failed")
		os.Exit(1)
	}
}

// StartManager adapts a manager constructor to Main's run: build, then run until ctx ends.
func StartManager(build func(ctx context.Context, cfg *rest.Config) (manager.Manager, error)) func(context.Context, *rest.Config) error {
	return func(ctx context.Context, cfg *rest.Config) error {
		mgr, err := build(ctx, cfg)
		if err != nil {
			return err
		}
		return mgr.Start(ctx)
	}
}
