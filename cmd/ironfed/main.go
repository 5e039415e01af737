// Command ironfed is the operator's entry point to a local federation: `ironfed up` starts it and
// tears it down on Ctrl-C.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/test/framework/cluster"
	"github.com/ironfed/ironfed/test/localfed"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "up" {
		fmt.Fprintln(os.Stderr, "usage: ironfed up [flags]   (ironfed up --help for flags)")
		os.Exit(2)
	}
	flags := pflag.NewFlagSet("ironfed up", pflag.ExitOnError)
	dir := flags.String("dir", localfed.DefaultDir(), "Directory for cluster state, logs and kubeconfigs. Cluster subdirectories are recreated on start.")
	clusters := flags.StringSlice("clusters", []string{"root"}, "Names of the clusters to start.")
	keep := flags.Bool("keep-state", false, "Keep the state directory after Ctrl-C (logs, etcd data).")
	_ = flags.Parse(os.Args[2:])

	if err := up(*dir, *clusters, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "ironfed up:", err)
		os.Exit(1)
	}
}

func up(dir string, names []string, keep bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "ironfed.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// Component logs go to a file; the terminal shows progress only.
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile)))
	fmt.Printf("[ironfed] component logs: %s\n", logPath)

	defs, err := crds.CRDs()
	if err != nil {
		return err
	}
	fed, err := localfed.Up(ctx, localfed.Options{Dir: dir, Clusters: names, CRDs: defs, Progress: os.Stdout})
	if err != nil {
		return err
	}
	kubectl := ""
	if b, err := cluster.FindBinaries(); err == nil {
		kubectl = b.Kubectl
	}
	fed.PrintNextSteps(os.Stdout, kubectl)
	<-ctx.Done()
	fmt.Println()
	err = fed.Down()
	if !keep {
		for _, n := range names {
			_ = os.RemoveAll(filepath.Join(dir, n))
		}
	}
	return err
}
