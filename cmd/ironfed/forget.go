package main

import (
	"fmt"

	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/federation/forget"
)

func forgetCmd(args []string) error {
	flags := pflag.NewFlagSet("ironfed forget", pflag.ExitOnError)
	kubeconfig := flags.String("kubeconfig", "", "Kubeconfig of the cluster that holds the pool (empty: $KUBECONFIG / in-cluster).")
	o := forget.Options{}
	flags.StringVar(&o.Pool, "pool", "", "Pool to forget (the same name for each kind); required. Stop its poollets first.")
	flags.StringSliceVar(&o.Kinds, "kinds", []string{"machine", "volume", "bucket"}, "Kinds whose pool and objects to forget.")
	flags.BoolVar(&o.DeleteObjects, "delete-objects", false, "Also delete every object still bound to the pool (default: only release objects already being deleted).")
	flags.BoolVar(&o.DryRun, "dry-run", false, "Print what would happen; change nothing (server-side dry run).")
	_ = flags.Parse(args)

	cfg, ctx, stop, err := setup(*kubeconfig)
	if err != nil {
		return err
	}
	defer stop()
	c, err := client.New(cfg, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		return err
	}
	res, err := forget.Forget(ctx, c, o)
	if res != nil {
		verb := ""
		if o.DryRun {
			verb = " (dry run)"
		}
		for _, r := range res.Deleted {
			fmt.Printf("deleted%s  %s\n", verb, r)
		}
		for _, r := range res.Released {
			fmt.Printf("released%s %s\n", verb, r)
		}
		for _, r := range res.PoolsRemoved {
			fmt.Printf("removed%s  %s\n", verb, r)
		}
	}
	return err
}
