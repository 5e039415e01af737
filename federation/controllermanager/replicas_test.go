// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package controllermanager_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/federation/controllermanager"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/test/framework"
)

// TestTwoReplicas: two controller-managers with leader election are both ready; when the leader
// crashes (its Lease is not released) the standby takes over within the lease duration and
// schedules what arrives afterwards.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	const lease = 3 * time.Second
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"cm-ha"}, WithoutControllerManager: true})[0]
	cl, err := client.New(c.Config, client.Options{Scheme: controllermanager.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: c.Config, client: cl}
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
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		mgr, stop := startManager(t, e.cfg, func(o *controllermanager.Options) {
			o.LeaderElect, o.LeaderElectResourceNamespace = true, "default"
			o.LeaderElectLeaseDuration, o.LeaderElectRenewDeadline, o.LeaderElectRetryPeriod = lease, 2*time.Second, 250*time.Millisecond
			o.LeaderElectKeepOnCancel = true // a crash, not a graceful hand-over
			o.HealthProbeBindAddress = addr
		})
		return replica{mgr, stop, addr}
	}
	a, b := start(ports[0]), start(ports[1])
	for _, r := range []replica{a, b} {
		if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			res, err := http.Get("http://" + r.health + "/readyz")
			if err != nil {
				return false, nil
			}
			_ = res.Body.Close()
			return res.StatusCode == http.StatusOK, nil
		}); err != nil {
			t.Fatalf("/readyz of %s never passed: the leader and the standby must both be ready", r.health)
		}
	}
	var leader, standby replica
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		la, lb := app.IsLeader(a.mgr), app.IsLeader(b.mgr)
		if la && lb {
			t.Fatal("both replicas lead")
		}
		leader, standby = a, b
		if lb {
			leader, standby = b, a
		}
		return la || lb, nil
	}); err != nil {
		t.Fatal("no replica became leader")
	}

	e.createMachinePool(t, poolSpec{name: "ha", ready: corev1.ConditionTrue, capacity: map[string]int64{"small": 10}})
	if err := e.client.Create(t.Context(), newMachine("before", "small", nil)); err != nil {
		t.Fatal(err)
	}
	e.waitMachine(t, "before", "bound by the leader", boundTo("ha"))

	leader.stop()
	killed := time.Now()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 2*lease+10*time.Second, true, func(context.Context) (bool, error) {
		return app.IsLeader(standby.mgr), nil
	}); err != nil {
		t.Fatalf("the standby did not take over within %s", 2*lease+10*time.Second)
	}
	took := time.Since(killed)
	t.Logf("standby leads %s after the leader crashed (lease duration %s)", took.Round(10*time.Millisecond), lease)
	if took > lease+5*time.Second {
		t.Errorf("takeover took %s, want within the lease duration %s (+ slack for a loaded machine)", took, lease)
	}
	if err := e.client.Create(t.Context(), newMachine("after", "small", nil)); err != nil {
		t.Fatal(err)
	}
	e.waitMachine(t, "after", "bound by the new leader", boundTo("ha"))
}
