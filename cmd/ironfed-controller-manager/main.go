// Command ironfed-controller-manager runs the schedulers and pool heartbeat monitors of one
// cluster level.
package main

import (
	goflag "flag"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ironfed/ironfed/federation/controllermanager"
)

func main() {
	opts := controllermanager.DefaultOptions()
	opts.AddFlags(pflag.CommandLine)
	kubeconfig := pflag.String("kubeconfig", "", "Path to a kubeconfig; empty uses the in-cluster config.")
	qps := pflag.Float32("kube-api-qps", 500, "QPS to the API server.")
	burst := pflag.Int("kube-api-burst", 1000, "Burst to the API server.")
	zapOpts := zap.Options{}
	goflags := goflag.NewFlagSet("zap", goflag.ExitOnError)
	zapOpts.BindFlags(goflags)
	pflag.CommandLine.AddGoFlagSet(goflags)
	pflag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(fmt.Errorf("load kubeconfig: %w", err))
	}
	cfg.QPS, cfg.Burst = *qps, *burst
	mgr, err := controllermanager.New(cfg, opts)
	if err != nil {
		fail(err)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		fail(err)
	}
}

func fail(err error) {
	ctrl.Log.Error(err, "ironfed-controller-manager failed")
	os.Exit(1)
}
