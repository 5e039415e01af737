// Package e2e runs the chained federation end to end: root → region → leaf, each a real
// kube-apiserver with ironfed's controller-manager, joined by poollet+broker pairs, memory
// providers at the leaf. One federation serves every test of the package; each test works in
// its own namespace and checks that nothing it made is left at any level.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/federation/topology"
)

var fed *localfed.Federation

// The chain of the default topology, root first.
var chain = []string{"root", "region", "leaf"}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped with -short (needs a three-cluster federation): run make test")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ironfed-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e2eDir = dir
	keep := os.Getenv("IRONFED_KEEP_CLUSTERS") == "1"
	logFile, err := os.Create(filepath.Join(dir, "components.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	log := zap.New(zap.WriteTo(logFile))
	ctrl.SetLogger(log)
	klog.SetLogger(log) // client-go's event broadcasters and reflectors
	code := func() int {
		defs, err := crds.CRDs()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fed, err = localfed.Up(context.Background(), localfed.Options{
			Dir: dir, Topology: topology.Default(), CRDs: defs, Log: ptr(log), Progress: os.Stderr,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "federation did not come up:", err)
			return 1
		}
		defer func() {
			if err := fed.Down(); err != nil {
				fmt.Fprintln(os.Stderr, "federation down:", err)
			}
		}()
		return m.Run()
	}()
	if code != 0 || keep {
		fmt.Fprintf(os.Stderr, "e2e state and component logs kept in %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	return code
}

// e2eDir holds the clusters' state and the components' logs; kept when a test fails.
var e2eDir string

func ptr(l logr.Logger) *logr.Logger { return &l }
