package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/ironfed/ironfed/federation/join"
)

func joinCmd(args []string) error {
	flags := pflag.NewFlagSet("ironfed join", pflag.ExitOnError)
	kubeconfig := flags.String("kubeconfig", "", "Kubeconfig of the downstream cluster with rights to create namespaces, service accounts and RBAC (empty: $KUBECONFIG / in-cluster).")
	o := join.Options{}
	flags.StringVar(&o.Name, "name", "", "Name of the broker identity (service account, roles); required.")
	flags.StringVar(&o.Namespace, "namespace", "", "Downstream namespace the broker writes to (created if missing); required.")
	flags.DurationVar(&o.TokenExpiration, "token-expiration", 0, "Lifetime of the issued token; 0: the join package's default (one year, capped by the apiserver).")
	out := flags.StringP("output", "o", "", "Write the broker's kubeconfig here (mode 0600); empty: stdout.")
	leave := flags.Bool("leave", false, "Remove the broker's identity and roles instead (the namespace and its objects stay).")
	_ = flags.Parse(args)

	cfg, ctx, stop, err := setup(*kubeconfig)
	if err != nil {
		return err
	}
	defer stop()
	if *leave {
		return join.Leave(ctx, cfg, o)
	}
	res, err := join.Join(ctx, cfg, o)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.Write(res.Kubeconfig)
		return err
	}
	if err := os.WriteFile(*out, res.Kubeconfig, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: acts as %s in namespace %s, token expires %s\n", *out, res.ServiceAccount, res.Namespace, res.ExpiresAt.UTC().Format("2006-01-02T15:04Z"))
	return nil
}
