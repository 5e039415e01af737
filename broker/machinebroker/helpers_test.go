package machinebroker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/localcluster"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/test/brokertest"
	"github.com/ironfed/ironfed/test/framework"
)

func init() { ctrllog.SetLogger(logr.Discard()) }

const (
	testNamespace = "brokered"
	testClass     = "small"
	testPool      = "pool-a"
)

type env struct {
	cluster *localcluster.Cluster
	kube    client.Client
	// cfg is the broker's identity: what join grants, not admin.
	cfg    *rest.Config
	socket string
	conn   *grpc.ClientConn
	m      machinev1alpha1.MachineRuntimeClient
	stop   func()
}

// startEnv starts a downstream cluster with a class and a Ready pool, and
// the broker on a unix socket.
func startEnv(t testing.TB, mutate func(*common.Options)) *env {
	t.Helper()
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"down"}})[0]
	kube, err := client.New(c.Config, client.Options{Scheme: common.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seedDownstream(t, ctx, kube, testPool, 100)
	e := &env{cluster: c, kube: kube, cfg: brokertest.JoinedConfig(t, c.Config, "machine", testNamespace)}
	e.startBroker(t, mutate)
	return e
}

func seedDownstream(t testing.TB, ctx context.Context, kube client.Client, pool string, capacity int64) {
	t.Helper()
	must(t, client.IgnoreAlreadyExists(kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNamespace}})))
	must(t, client.IgnoreAlreadyExists(kube.Create(ctx, &computev1alpha1.MachineClass{
		ObjectMeta: metav1.ObjectMeta{Name: testClass},
		Capabilities: commonv1alpha1.ResourceList{
			commonv1alpha1.ResourceCPU: resource.MustParse("2"), commonv1alpha1.ResourceMemory: resource.MustParse("4Gi"),
		},
	})))
	p := &computev1alpha1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: pool, Labels: map[string]string{"tier": "test"}}}
	must(t, kube.Create(ctx, p))
	p.Status.Conditions = []computev1alpha1.MachinePoolCondition{{Type: "Ready", Status: corev1.ConditionTrue, Reason: "Test", Message: "seeded by the test"}}
	p.Status.Capacity = commonv1alpha1.ResourceList{
		commonv1alpha1.ClassCountFor(commonv1alpha1.ClassTypeMachineClass, testClass): *resource.NewQuantity(capacity, resource.DecimalSI),
	}
	p.Status.AvailableMachineClasses = []corev1.LocalObjectReference{{Name: testClass}}
	must(t, kube.Status().Update(ctx, p))
}

func (e *env) startBroker(t testing.TB, mutate func(*common.Options)) {
	t.Helper()
	dir, err := os.MkdirTemp("", "brk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	opts := common.DefaultOptions("machine")
	opts.Namespace = testNamespace
	opts.Address = filepath.Join(dir, "m.sock")
	opts.MetricsBindAddress, opts.HealthProbeBindAddress = "0", "0"
	opts.Breaker.OpenTimeout = 2 * time.Second
	opts.WriteTimeout = 5 * time.Second
	if mutate != nil {
		mutate(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- machinebroker.Run(ctx, e.cfg, opts, testr.NewWithInterface(t, testr.Options{}), func() { close(ready) })
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
	conn, err := remote.Dial(ctx, opts.Address)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e.socket, e.conn, e.m = opts.Address, conn, machinev1alpha1.NewMachineRuntimeClient(conn)
	e.stop = sync.OnceFunc(func() { // a test may stop it early (a restart)
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("broker: %v", err)
		}
	})
	t.Cleanup(e.stop)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newMachine(labels map[string]string) *machinev1alpha1.Machine {
	return &machinev1alpha1.Machine{
		Metadata: &metav1alpha1.ObjectMetadata{Labels: labels, Annotations: map[string]string{"a": "1"}},
		Spec:     &machinev1alpha1.MachineSpec{Class: testClass},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 50ms for up to 30s.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var note string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, note = cond(); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %s", what, note)
}
