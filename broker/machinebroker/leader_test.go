package machinebroker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
	"github.com/ironfed/ironfed/test/brokertest"
	"github.com/ironfed/ironfed/test/framework"
)

// replica is one broker process of a leader-elected pair.
type replica struct {
	name   string
	health string
	m      machinev1alpha1.MachineRuntimeClient
	cancel context.CancelFunc
	done   chan error
}

// TestLeaderElection runs two replicas of the machine broker against one
// downstream: both turn ready, only the leader writes (the standby answers
// Unavailable naming the Lease, and serves reads from its cache); the
// leader killed without releasing its Lease, the standby takes over within
// the lease duration, and creates retried through it create nothing twice.
func TestLeaderElection(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"down"}})[0]
	kube, err := client.New(c.Config, client.Options{Scheme: common.NewScheme()})
	must(t, err)
	ctx := ctxT(t)
	seedDownstream(t, ctx, kube, testPool, 100)
	cfg := brokertest.JoinedConfig(t, c.Config, "machine", testNamespace)
	const lease, renew, retry = 4 * time.Second, 3 * time.Second, 500 * time.Millisecond
	start := func(name string) *replica {
		dir, err := os.MkdirTemp("", "brk")
		must(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		opts := common.DefaultOptions("machine")
		opts.Namespace = testNamespace
		opts.Address = filepath.Join(dir, "m.sock")
		opts.MetricsBindAddress, opts.HealthProbeBindAddress = "0", freeAddr(t)
		opts.LeaderElect, opts.LeaderElectNoRelease = true, true
		opts.LeaderElectLeaseDuration, opts.LeaderElectRenewDeadline, opts.LeaderElectRetryPeriod = lease, renew, retry
		rctx, cancel := context.WithCancel(context.Background())
		r := &replica{name: name, health: opts.HealthProbeBindAddress, cancel: cancel, done: make(chan error, 1)}
		ready := make(chan struct{})
		go func() {
			r.done <- machinebroker.Run(rctx, cfg, opts, testr.NewWithInterface(t, testr.Options{}).WithName(name), func() { close(ready) })
		}()
		select {
		case <-ready:
		case err := <-r.done:
			t.Fatalf("%s ended before it was ready: %v", name, err)
		case <-time.After(60 * time.Second):
			t.Fatalf("%s not ready within 60s", name)
		}
		conn, err := remote.Dial(rctx, opts.Address)
		must(t, err)
		r.m = machinev1alpha1.NewMachineRuntimeClient(conn)
		t.Cleanup(func() {
			_ = conn.Close()
			cancel()
			if err := <-r.done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v", name, err)
			}
		})
		return r
	}
	a, b := start("a"), start("b")

	// Both are ready: a surge rollout does not wait for leadership.
	for _, r := range []*replica{a, b} {
		eventually(t, r.name+" /readyz", func() (bool, string) {
			resp, err := http.Get("http://" + r.health + "/readyz")
			if err != nil {
				return false, err.Error()
			}
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status
		})
	}

	create := func(r *replica, uid string) (*machinev1alpha1.Machine, error) {
		resp, err := r.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: uid})})
		return resp.GetMachine(), err
	}
	// One of them takes the Lease; the other answers writes Unavailable.
	var leader, standby *replica
	var first *machinev1alpha1.Machine
	eventually(t, "a leader", func() (bool, string) {
		for _, r := range []*replica{a, b} {
			m, err := create(r, "uid-1")
			if err == nil {
				leader, first = r, m
				return true, ""
			}
			if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "standby") {
				t.Fatalf("%s: create on a replica without the Lease: %v; want Unavailable naming the standby", r.name, err)
			}
		}
		return false, "no replica leads yet"
	})
	standby = map[*replica]*replica{a: b, b: a}[leader]
	_, err = create(standby, "uid-2")
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "Lease "+testNamespace+"/machinebroker") {
		t.Fatalf("create on the standby: %v; want Unavailable naming the Lease %s/machinebroker", err, testNamespace)
	}
	// The standby serves reads from its cache.
	eventually(t, "the standby lists the leader's machine", func() (bool, string) {
		l, err := standby.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: first.Metadata.Id}})
		return err == nil && len(l.Machines) == 1, fmt.Sprint(l, err)
	})

	// The leader crashes (its context ends without releasing the Lease).
	// A retried create of an existing object is a read (the standby answers
	// it from its cache); a new one needs the Lease.
	killed := time.Now()
	leader.cancel()
	eventually(t, "the standby takes over", func() (bool, string) {
		_, err := create(standby, "uid-2")
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	took := time.Since(killed)
	t.Logf("standby took over %s after the leader was killed (lease duration %s, retry period %s)", took.Round(10*time.Millisecond), lease, retry)
	if took > lease+2*retry+time.Second {
		t.Errorf("takeover took %s; want within the lease duration %s (+ retry period and slack)", took, lease)
	}
	again, err := create(standby, "uid-1")
	must(t, err)
	if again.Metadata.Id != first.Metadata.Id {
		t.Errorf("create retried through the new leader returned %s; want the existing %s", again.Metadata.Id, first.Metadata.Id)
	}
	for range 3 {
		_, err := create(standby, "uid-2")
		must(t, err)
	}
	for _, uid := range []string{"uid-1", "uid-2"} {
		var list computev1alpha1.MachineList
		must(t, kube.List(ctx, &list, client.InNamespace(testNamespace), client.MatchingLabels{common.UIDLabel: uid}))
		if len(list.Items) != 1 {
			t.Errorf("%d downstream machines with UID %s; want 1", len(list.Items), uid)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
