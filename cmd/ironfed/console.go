package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/console"
	"github.com/ironfed/ironfed/federation/controllermanager"
)

func consoleCmd(args []string) error {
	flags := pflag.NewFlagSet("ironfed console <namespace>/<machine>", pflag.ExitOnError)
	kubeconfig := flags.String("kubeconfig", "", "Kubeconfig of the cluster that holds the Machine (empty: $KUBECONFIG / in-cluster); its identity needs create on machines/exec.")
	caFile := flags.String("poollet-ca-file", "", "CA bundle (PEM) of the machinepoollet's console certificate; empty: the kubeconfig's CA.")
	insecure := flags.Bool("insecure-skip-tls-verify-poollet", false, "Do not verify the machinepoollet's console certificate (e.g. a self-signed one). Insecure: your credentials go to whoever answers.")
	_ = flags.Parse(args)
	if flags.NArg() != 1 || !strings.Contains(flags.Arg(0), "/") {
		return fmt.Errorf("usage: ironfed console [flags] <namespace>/<machine>")
	}
	ns, name, _ := strings.Cut(flags.Arg(0), "/")
	o := console.Options{Machine: types.NamespacedName{Namespace: ns, Name: name}}
	if *caFile != "" {
		b, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		o.PoolletCA = b
	}
	cfg, ctx, stop, err := setup(*kubeconfig)
	if err != nil {
		return err
	}
	defer stop()
	o.Config = cfg
	if *insecure {
		o.Config = rest.CopyConfig(cfg)
		o.Config.TLSClientConfig.Insecure = true
	}
	c, err := client.New(cfg, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		return err
	}
	return console.RunTerminal(ctx, c, o, os.Stdin, os.Stdout, os.Stderr)
}
