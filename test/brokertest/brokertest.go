// Package brokertest (test support, under test/ because it runs poollets and the controller-manager
// next to a broker: components never import each other) starts a downstream cluster and a broker on a real unix
// socket for the brokers' tests.
package brokertest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/federation/join"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/test/framework"
)

// Namespace holds the brokered objects in these tests.
const Namespace = "brokered"

// Env is a downstream cluster and a broker serving over it.
type Env struct {
	Cluster *localcluster.Cluster
	Kube    client.Client
	Socket  string
	Conn    *grpc.ClientConn
}

// JoinedConfig joins the downstream cluster at admin for a broker of kind
// in namespace (federation/join) and returns the broker's identity, so a
// test's broker runs with exactly the RBAC a real one gets.
func JoinedConfig(t testing.TB, admin *rest.Config, kind, namespace string) *rest.Config {
	t.Helper()
	res, err := join.Join(context.Background(), admin, join.Options{Name: kind + "broker", Namespace: namespace})
	if err != nil {
		t.Fatalf("join the downstream cluster: %v", err)
	}
	return res.Config
}

// Start starts a downstream cluster, runs seed against it (as admin), then
// the broker with the identity join.Join issues.
func Start(t testing.TB, kind string, run common.RunFunc, seed func(ctx context.Context, kube client.Client) error, mutate func(*common.Options)) *Env {
	t.Helper()
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"down"}})[0]
	kube, err := client.New(c.Config, client.Options{Scheme: common.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}); err != nil {
		t.Fatal(err)
	}
	if seed != nil {
		if err := seed(ctx, kube); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp("", "brk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cfg := JoinedConfig(t, c.Config, kind, Namespace)
	opts := common.DefaultOptions(kind)
	opts.Namespace = Namespace
	opts.Address = filepath.Join(dir, "b.sock")
	opts.MetricsBindAddress, opts.HealthProbeBindAddress = "0", "0"
	if mutate != nil {
		mutate(&opts)
	}
	rctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- run(rctx, cfg, opts, testr.NewWithInterface(t, testr.Options{}), func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("broker ended before it was ready: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("broker not ready within 60s")
	}
	conn, err := remote.Dial(rctx, opts.Address)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("broker: %v", err)
		}
	})
	return &Env{Cluster: c, Kube: kube, Socket: opts.Address, Conn: conn}
}

// SeedPool creates class and pool downstream, then writes the status the
// pool was given (a create drops it): a Ready pool offering the class.
func SeedPool(ctx context.Context, kube client.Client, class, pool client.Object) error {
	if err := kube.Create(ctx, class); err != nil {
		return err
	}
	withStatus := pool.DeepCopyObject().(client.Object)
	if err := kube.Create(ctx, pool); err != nil {
		return err
	}
	withStatus.SetResourceVersion(pool.GetResourceVersion())
	return kube.Status().Update(ctx, withStatus)
}

// SweepRounds waits until broker's sweeper has run n more rounds (its
// ironfed_broker_incomplete_sweeps_total counter): sweep tests move an
// injected clock and wait for rounds, never for wall time.
func SweepRounds(t testing.TB, broker string, n float64) {
	t.Helper()
	rounds := func() float64 {
		mfs, err := ctrlmetrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "ironfed_broker_incomplete_sweeps_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, p := range m.GetLabel() {
					if p.GetName() == "broker" && p.GetValue() == broker {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
		return 0
	}
	start := rounds()
	deadline := time.Now().Add(30 * time.Second)
	for rounds()-start < n {
		if time.Now().After(deadline) {
			t.Fatalf("the %s sweeper did not run %v rounds within 30s", broker, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
