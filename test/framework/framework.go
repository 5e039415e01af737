// Package framework starts real multi-cluster environments for ironfed's tests: N isolated
// control planes in parallel, torn down when the test ends, with helpers to inspect and break them.
package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"

	"github.com/ironfed/ironfed/federation/api/admission"
	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/localcluster"
)

// ClustersInput configures StartClusters.
type ClustersInput struct {
	// Names of the clusters to start; their count is the number of clusters.
	Names []string
	// CRDs installed into every cluster. Default: DefaultCRDs.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// WithoutControllerManager starts clusters without kube-controller-manager.
	WithoutControllerManager bool
}

// DefaultCRDs returns the CRDs installed when ClustersInput.CRDs is nil: all of ironfed's.
var DefaultCRDs = crds.CRDs

// StartClusters starts the named clusters in parallel and stops them when the test ends. Their
// directories live under t.TempDir() unless $IRONFED_KEEP_CLUSTERS is set, in which case they are
// kept for inspection and their location is logged.
func StartClusters(t testing.TB, in ClustersInput) []*localcluster.Cluster {
	t.Helper()
	if testing.Short() {
		// The fast tier (make test-short) is the tests that need no cluster; make test runs these,
		// and there a missing cluster binary fails the test.
		t.Skip("needs real clusters: run make test")
	}
	if len(in.Names) == 0 {
		t.Fatal("StartClusters: no cluster names")
	}
	crds := in.CRDs
	var install []func(context.Context, *rest.Config) error
	if crds == nil {
		install = append(install, admission.Install) // with all CRDs: IronCore's admission behaviour too
		var err error
		if crds, err = DefaultCRDs(); err != nil {
			t.Fatalf("load CRDs: %v", err)
		}
	}
	base := clusterBaseDir(t)
	opts := make([]localcluster.Options, len(in.Names))
	for i, name := range in.Names {
		opts[i] = localcluster.Options{
			Name: name, Dir: filepath.Join(base, name), CRDs: crds, Install: install,
			WithoutControllerManager: in.WithoutControllerManager,
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	clusters, err := localcluster.StartMany(ctx, opts)
	if err != nil {
		t.Fatalf("start clusters %v: %v", in.Names, err)
	}
	t.Logf("started clusters %v in %s (dir %s)", in.Names, time.Since(start).Round(time.Millisecond), base)
	t.Cleanup(func() {
		for _, c := range clusters {
			if err := c.Stop(); err != nil {
				t.Errorf("stop cluster %s: %v", c.Name, err)
			}
		}
	})
	return clusters
}

func clusterBaseDir(t testing.TB) string {
	if keep := os.Getenv("IRONFED_KEEP_CLUSTERS"); keep != "" {
		dir, err := os.MkdirTemp("", "ironfed-"+sanitize(t.Name())+"-")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("IRONFED_KEEP_CLUSTERS set: cluster state and logs kept in %s", dir)
		return dir
	}
	return t.TempDir()
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// ProcessesMentioning lists the pids of processes whose command line contains s, such as a
// cluster directory: after teardown there must be none.
func ProcessesMentioning(s string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue // exited meanwhile
		}
		if strings.Contains(string(cmdline), s) && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Format: pid (comm) state ...; comm may contain spaces, so read after the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
