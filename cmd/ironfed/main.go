// Command ironfed is the operator's entry point: `ironfed up` starts a local chained federation
// and tears it down on Ctrl-C; `ironfed join` prepares a downstream cluster for a broker;
// `ironfed forget` is the way out when a pool's downstream is gone for good.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	cmds := map[string]func(args []string) error{"up": up, "join": joinCmd, "forget": forgetCmd, "console": consoleCmd}
	if len(os.Args) < 2 || cmds[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, `usage:
  ironfed up [flags]     start a local federation (root → region → leaf by default); --help for flags
  ironfed join [flags]   give a broker a namespace-limited identity in a downstream cluster; --help for flags
  ironfed forget [flags] release the objects of a pool whose provider is gone for good; --help for flags
  ironfed console <namespace>/<machine>  open a Machine's console through every level (detach: Ctrl-])`)
		os.Exit(2)
	}
	if err := cmds[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "ironfed %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// setup loads a kubeconfig (empty: $KUBECONFIG, then in-cluster) and returns a context that ends
// on SIGINT/SIGTERM.
func setup(kubeconfig string) (*rest.Config, context.Context, context.CancelFunc, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return cfg, ctx, stop, nil
}
