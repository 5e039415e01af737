package core

import (
	"context"
	goflag "flag"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Main is the whole main function of a poollet binary: the kind's flags (addFlags), client and
// zap logging flags, signal handling, and the manager newManager builds.
func Main(name string, addFlags func(*pflag.FlagSet), newManager func(context.Context, *rest.Config) (manager.Manager, error)) {
	addFlags(pflag.CommandLine)
	clientOpts := DefaultClientOptions()
	clientOpts.AddFlags(pflag.CommandLine)
	zapOpts := zap.Options{}
	goflags := goflag.NewFlagSet("zap", goflag.ExitOnError)
	zapOpts.BindFlags(goflags)
	pflag.CommandLine.AddGoFlagSet(goflags)
	pflag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	ctx := ctrl.SetupSignalHandler()
	cfg, err := clientOpts.RESTConfig()
	if err == nil {
		var mgr manager.Manager
		if mgr, err = newManager(ctx, cfg); err == nil {
			err = mgr.Start(ctx)
		}
	}
	if err != nil {
		ctrl.Log.Error(err, name+" failed")
		os.Exit(1)
	}
}
