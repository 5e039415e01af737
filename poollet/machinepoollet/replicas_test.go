// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/federation/localcluster"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/test/poollettest"
)

// TestTwoReplicas: two poollets of one pool with leader election are both ready (a surge rollout
// proceeds); only the leader materialises machines; when it crashes (its Lease is not released)
// the standby takes over within the lease duration and nothing is duplicated.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, false, nil)
	const lease = 3 * time.Second
	ports, err := localcluster.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	type replica struct {
		mgr    manager.Manager
		stop   func()
		health string
	}
	start := func(port int) replica {
		o := e.Options(pool + "-ha")
		o.Manager.LeaderElect, o.Manager.LeaderElectResourceNamespace = true, "default"
		o.Manager.LeaderElectLeaseDuration, o.Manager.LeaderElectRenewDeadline, o.Manager.LeaderElectRetryPeriod = lease, 2*time.Second, 250*time.Millisecond
		o.Manager.LeaderElectKeepOnCancel = true // a crash, not a graceful hand-over
		o.Manager.HealthProbeBindAddress = fmt.Sprintf("127.0.0.1:%d", port)
		mgr, stop := poollettest.RunManager(t, func(ctx context.Context) (manager.Manager, error) { return machinepoollet.New(ctx, e.Config, o) })
		return replica{mgr, stop, o.Manager.HealthProbeBindAddress}
	}
	a, b := start(ports[0]), start(ports[1])
	for _, r := range []replica{a, b} {
		poollettest.Eventually(t, wait, "/readyz of "+r.health, func() error {
			res, err := http.Get("http://" + r.health + "/readyz")
			if err != nil {
				return err
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", res.StatusCode)
			}
			return nil
		})
	}
	var leader, standby replica
	poollettest.Eventually(t, wait, "a leader", func() error {
		switch la, lb := app.IsLeader(a.mgr), app.IsLeader(b.mgr); {
		case la && lb:
			t.Fatal("both replicas lead")
		case la:
			leader, standby = a, b
		case lb:
			leader, standby = b, a
		default:
			return fmt.Errorf("no leader yet")
		}
		return nil
	})

	m1 := newMachine("ha-1")
	m1.Spec.MachinePoolRef.Name = pool + "-ha"
	if err := e.Client.Create(t.Context(), m1); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, "ha-1", "Running")

	leader.stop()
	killed := time.Now()
	poollettest.Eventually(t, 2*lease+wait, "the standby taking over", func() error {
		if !app.IsLeader(standby.mgr) {
			return fmt.Errorf("standby not leading %s after the leader died", time.Since(killed).Round(100*time.Millisecond))
		}
		return nil
	})
	took := time.Since(killed)
	t.Logf("standby leads %s after the leader crashed (lease duration %s)", took.Round(10*time.Millisecond), lease)
	if took > lease+5*time.Second {
		t.Errorf("takeover took %s, want within the lease duration %s (+ slack for a loaded machine)", took, lease)
	}

	m2 := newMachine("ha-2")
	m2.Spec.MachinePoolRef.Name = pool + "-ha"
	if err := e.Client.Create(t.Context(), m2); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, "ha-2", "Running")
	for _, name := range []string{"ha-1", "ha-2"} {
		if n := len(iriMachines(t, e, string(getMachine(t, e, name).UID))); n != 1 {
			t.Errorf("%s: %d IRI machines, want exactly 1", name, n)
		}
	}
}

// TestHeartbeatWhileRuntimeHangs: a runtime whose Status hangs never makes a live poollet look
// dead: the heartbeat Lease keeps being renewed in its own loop, and the runtime's trouble shows
// as Ready=Unknown/RuntimeUnreachable instead.
func TestHeartbeatWhileRuntimeHangs(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	e.StopServer()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	e.Intercept = func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == machinev1alpha1.MachineRuntime_Status_FullMethodName {
			select { // a minute, or until the test ends: longer than the client's call timeout
			case <-hang:
			case <-ctx.Done():
			case <-time.After(time.Minute):
			}
			return nil, ctx.Err()
		}
		return h(ctx, req)
	}
	e.StartServer(t)
	const leaseDuration = 3 * time.Second
	startPoollet(t, e, func(o *core.Options) {
		o.Pool.HeartbeatInterval, o.Pool.HeartbeatLeaseDuration = 500*time.Millisecond, leaseDuration
	})
	waitPoolReady(t, e, corev1.ConditionUnknown, core.ReasonRuntimeUnreachable)

	key := client.ObjectKey{Namespace: commonv1alpha1.PoolLeaseNamespace("MachinePool"), Name: pool}
	deadline := time.Now().Add(8 * time.Second)
	renewals := map[time.Time]bool{}
	for time.Now().Before(deadline) {
		l := &coordinationv1.Lease{}
		if err := e.Client.Get(t.Context(), key, l); err != nil {
			t.Fatal(err)
		}
		if l.Spec.RenewTime == nil {
			t.Fatal("heartbeat Lease without renewTime")
		}
		renewals[l.Spec.RenewTime.Time] = true
		if age := time.Since(l.Spec.RenewTime.Time); age > leaseDuration {
			t.Fatalf("heartbeat Lease last renewed %s ago while the runtime hangs (lease duration %s): the pool would look dead", age, leaseDuration)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(renewals) < 5 {
		t.Errorf("only %d distinct renewals in 8s with a 500ms heartbeat interval", len(renewals))
	}
	p := waitPoolReady(t, e, corev1.ConditionUnknown, core.ReasonRuntimeUnreachable)
	c, _ := readyCondition(p)
	t.Logf("while Status hangs: pool Ready=%s/%s %q; %d Lease renewals in 8s", c.Status, c.Reason, c.Message, len(renewals))
}
