package helme2e_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ironfed/ironfed/test/framework"
)

// Environment of the kind path (hack/kind-e2e.sh): the same test against clusters someone else
// runs, with the images already loaded into their nodes.
const (
	// KubeconfigsEnv lists name=kubeconfig pairs, comma separated, for root, region and leaf.
	KubeconfigsEnv = "IRONFED_E2E_KUBECONFIGS"
	// ServersEnv lists name=URL pairs: the apiserver address the pods of the other clusters reach
	// (kind: https://<name>-control-plane:6443), written into the join kubeconfigs.
	ServersEnv = "IRONFED_E2E_SERVERS"
)

// cluster is one level of the federation as the test sees it.
type cluster struct {
	name       string
	kubeconfig string // admin, for the test process
	config     *rest.Config
	// server is the apiserver URL for pods of other clusters; empty: config.Host.
	server string
}

// clusters returns root, region and leaf: given by $IRONFED_E2E_KUBECONFIGS, or node clusters
// started here (one real node each, torn down at the end).
func clusters(t *testing.T, names ...string) []*cluster {
	if spec := os.Getenv(KubeconfigsEnv); spec != "" {
		paths, servers := pairs(t, spec), pairs(t, os.Getenv(ServersEnv))
		var out []*cluster
		for _, n := range names {
			if paths[n] == "" {
				t.Fatalf("$%s has no kubeconfig for %s", KubeconfigsEnv, n)
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", paths[n])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, &cluster{name: n, kubeconfig: paths[n], config: cfg, server: servers[n]})
		}
		t.Logf("clusters from $%s: %s", KubeconfigsEnv, spec)
		return out
	}
	var out []*cluster
	for _, n := range framework.StartNodeClusters(t, names) {
		out = append(out, &cluster{name: n.Name, kubeconfig: n.Cluster.KubeconfigPath, config: n.Cluster.Config})
	}
	return out
}

func pairs(t *testing.T, spec string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(spec, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Fatalf("%q is not name=value", p)
		}
		out[k] = v
	}
	return out
}

// kubectl runs kubectl against c and returns its output; a failure fails the test.
func (c *cluster) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.try(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *cluster) try(args ...string) (string, error) {
	return framework.Kubectl(context.Background(), c.kubeconfig, nil, args...)
}

// parallel runs f for every cluster at once and fails the test with every error.
func parallel(t *testing.T, cs []*cluster, f func(c *cluster) error) {
	t.Helper()
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			if err := f(c); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.name, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}
