package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/federation/topology"
	"github.com/ironfed/ironfed/providers/memory"
)

func up(args []string) error {
	flags := pflag.NewFlagSet("ironfed up", pflag.ExitOnError)
	dir := flags.String("dir", localfed.DefaultDir(), "Directory for cluster state, logs and kubeconfigs. Cluster subdirectories are recreated on start.")
	topoPath := flags.String("topology", "", "Topology file (see examples/topology-*.yaml); empty: root → region → leaf.")
	providerPath := flags.String("provider-config", "", "Memory provider config of the leaves (classes, capacity, state delay); empty: built-in classes m-small, m-large, fast, standard.")
	readyTimeout := flags.Duration("ready-timeout", 3*time.Minute, "How long to wait for every pool of the chain to be announced.")
	keep := flags.Bool("keep-state", false, "Keep the state directory after Ctrl-C (logs, etcd data).")
	binDir := flags.String("bin-dir", os.Getenv(localfed.BinDirEnv), "Directory of the component binaries (controller-manager, poollets, brokers, memory-provider): each runs as its own process with the flags its Helm chart sets, "+
		"logging to <dir>/logs/. make run builds them (make component-binaries). Default $"+localfed.BinDirEnv+"; empty: every component runs inside ironfed.")
	inProcess := flags.Bool("in-process", false, "Run every component inside ironfed even when --bin-dir is set.")
	var leafOpts leafOptions
	leafOpts.addFlags(flags)
	_ = flags.Parse(args)

	top := topology.Default()
	if *topoPath != "" {
		var err error
		if top, err = topology.Load(*topoPath); err != nil {
			return err
		}
	}
	prov := memory.DefaultConfig()
	if *providerPath != "" {
		var err error
		if prov, err = memory.LoadConfig(*providerPath); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	unlock, err := lockDir(*dir)
	if err != nil {
		return err
	}
	defer unlock()
	subs := []string{"logs", "pids", "components"}
	for _, c := range top.Clusters {
		subs = append(subs, c.Name)
	}
	for _, sub := range subs {
		if err := os.RemoveAll(filepath.Join(*dir, sub)); err != nil {
			return err
		}
	}
	logPath := filepath.Join(*dir, "ironfed.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// Component logs go to a file; the terminal shows progress only.
	logger := zap.New(zap.WriteTo(logFile))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger) // client-go's leader election and event broadcasters log through klog
	if *inProcess {
		*binDir = ""
	}
	if *binDir == "" {
		fmt.Printf("[ironfed] components run inside this process (no --bin-dir or $%s; make run runs each as its own process); their logs: %s\n", localfed.BinDirEnv, logPath)
	} else {
		fmt.Printf("[ironfed] components run as processes from %s; logs in %s, pids in %s (ironfed's own log: %s)\n",
			*binDir, filepath.Join(*dir, "logs"), filepath.Join(*dir, "pids"), logPath)
	}

	defs, err := crds.CRDs()
	if err != nil {
		return err
	}
	leaves, err := leafOpts.start(ctx, *dir, *binDir, logger)
	if err != nil {
		return err
	}
	var runtimes map[string]string
	var leafProcs []localfed.LeafProcess
	if leaves != nil {
		defer func() {
			if err := leaves.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stopping the real leaves: %v\n", err)
			} else if !*keep {
				_ = os.RemoveAll(filepath.Join(*dir, "leaves"))
			}
		}()
		prov, runtimes, leafProcs = leaves.ProviderConfig(prov), leaves.Runtimes, leaves.Processes
	}
	fed, err := localfed.Up(ctx, localfed.Options{Dir: *dir, Topology: top, Provider: &prov, CRDs: defs, ReadyTimeout: *readyTimeout, Progress: os.Stdout, LeafRuntimes: runtimes, LeafProcesses: leafProcs, BinDir: *binDir})
	if err != nil {
		return err
	}
	kubectl := ""
	if b, err := localcluster.FindBinaries(); err == nil {
		kubectl = b.Kubectl
	}
	fed.PrintNextSteps(os.Stdout, kubectl)
	if leaves != nil {
		if err := printLeafSteps(leaves, *dir, kubectl); err != nil {
			return errors.Join(err, fed.Down())
		}
	}
	<-ctx.Done()
	fmt.Println()
	err = fed.Down()
	if !*keep {
		for _, c := range top.Clusters {
			_ = os.RemoveAll(filepath.Join(*dir, c.Name))
		}
	}
	return err
}

// lockDir makes sure one `ironfed up` at a time uses dir: a second one would delete the first
// one's cluster state under it.
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, "ironfed.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("another ironfed up (pid %s) is using %s: stop it or pass a different --dir", strings.TrimSpace(string(owner)), dir)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close() }, nil
}
