package common

import (
	"context"
	goflag "flag"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// RunFunc runs one broker kind (machinebroker.Run, volumebroker.Run, ...).
type RunFunc func(ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger, onReady func()) error

// Main is the whole main function of a broker binary of kind ("machine",
// "volume", "bucket"): flags, zap logging, kubeconfig, signal handling.
func Main(kind, name string, run RunFunc) {
	opts := DefaultOptions(kind)
	opts.AddFlags(pflag.CommandLine, kind)
	zapOpts := zap.Options{}
	goflags := goflag.NewFlagSet("zap", goflag.ExitOnError)
	zapOpts.BindFlags(goflags)
	pflag.CommandLine.AddGoFlagSet(goflags)
	pflag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName(name)

	cfg, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	if err != nil {
		log.Error(fmt.Errorf("load kubeconfig: %w", err), name+" failed")
		os.Exit(1)
	}
	if err := run(ctrl.SetupSignalHandler(), cfg, opts, log, nil); err != nil {
		log.Error(err, name+" failed")
		os.Exit(1)
	}
}
