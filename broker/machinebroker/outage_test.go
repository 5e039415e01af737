package machinebroker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/broker/common"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

func TestDownstreamOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	e := startEnv(t, func(o *common.Options) {
		o.Breaker.ConsecutiveFailures = 3
		o.Breaker.OpenTimeout = 2 * time.Second
	})
	// The calls' context spans an apiserver stop and restart, which takes
	// well over ctxT's minute on a loaded host.
	ctx, cancelCalls := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancelCalls()
	before, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{"phase": "before"})})
	must(t, err)
	id := before.Machine.Metadata.Id
	host := strings.TrimPrefix(e.cluster.Host(), "https://")

	must(t, e.cluster.APIServer.Stop())
	retry := func() error {
		_, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: "retried-uid"})})
		return err
	}
	for i := 0; i < 3; i++ { // the failures that open the breaker
		if err := retry(); status.Code(err) != codes.Unavailable {
			t.Fatalf("create %d during the outage: %v; want Unavailable", i, err)
		}
	}
	start := time.Now()
	err = retry()
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "circuit breaker open") {
		t.Fatalf("create with the breaker open: %v; want Unavailable naming %s and the breaker", err, host)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("create with the breaker open took %s; want fail-fast", d)
	}
	if v := breakerGauge(t, host); v != 2 {
		t.Errorf("breaker state metric %v, want 2 (open)", v)
	}
	_, err = e.m.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("power with the breaker open: %v; want Unavailable", err)
	}
	resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
	if err != nil || len(resp.Machines) != 1 {
		t.Fatalf("list during the outage: %v %v; want the cached machine", resp, err)
	}

	restartCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	must(t, e.cluster.APIServer.Start(restartCtx))
	var ids []string
	eventually(t, "creates to succeed after the downstream returned", func() (bool, string) {
		r, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: "retried-uid"})})
		if err != nil {
			return false, err.Error()
		}
		ids = append(ids, r.Machine.Metadata.Id)
		return true, ""
	})
	// The client keeps retrying: still one machine.
	for i := 0; i < 3; i++ {
		r, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: "retried-uid"})})
		must(t, err)
		if r.Machine.Metadata.Id != ids[0] {
			t.Errorf("retry %d got id %s, want %s", i, r.Machine.Metadata.Id, ids[0])
		}
	}
	var list computev1alpha1.MachineList
	must(t, e.kube.List(ctx, &list, client.InNamespace(testNamespace), client.MatchingLabels{common.UIDLabel: "retried-uid"}))
	if len(list.Items) != 1 {
		t.Errorf("%d downstream machines for the retried UID, want 1", len(list.Items))
	}
	_, err = e.m.UpdateMachinePower(ctx, &machinev1alpha1.UpdateMachinePowerRequest{MachineId: id, Power: machinev1alpha1.Power_POWER_OFF})
	must(t, err)
	if v := breakerGauge(t, host); v != 0 {
		t.Errorf("breaker state metric %v after recovery, want 0 (closed)", v)
	}
}

// breakerGauge reads ironfed_broker_downstream_breaker_state for host.
func breakerGauge(t *testing.T, host string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	must(t, err)
	for _, f := range families {
		if f.GetName() != "ironfed_broker_downstream_breaker_state" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "downstream" && l.GetValue() == host {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no breaker metric for %s", host)
	return -1
}

// TestDownstreamUnreachable: with the downstream apiserver down the cache
// still answers, but Status must fail so the poollet upstream stops
// reporting the pool Ready; object lists keep serving the cache.
func TestDownstreamUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster; run make test")
	}
	const interval, threshold = 200 * time.Millisecond, time.Second
	e := startEnv(t, func(o *common.Options) {
		o.ProbeInterval, o.UnreachableThreshold = interval, threshold
	})
	ctx := ctxT(t)
	created, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(nil)})
	must(t, err)
	id := created.Machine.Metadata.Id
	host := strings.TrimPrefix(e.cluster.Host(), "https://")
	health := healthpb.NewHealthClient(e.conn)
	servingIs := func(want healthpb.HealthCheckResponse_ServingStatus) (bool, string) {
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return false, err.Error()
		}
		return r.Status == want, r.Status.String()
	}
	if st, err := e.m.Status(ctx, &machinev1alpha1.StatusRequest{}); err != nil || len(st.MachineClassStatus) == 0 {
		t.Fatalf("status before the outage: %v %v", st, err)
	}
	eventually(t, "health SERVING before the outage", func() (bool, string) { return servingIs(healthpb.HealthCheckResponse_SERVING) })

	// Stop returns only after the process exited (up to 20s); the
	// apiserver stops answering at once, so poll meanwhile.
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- e.cluster.APIServer.Stop() }()
	var statusErr error
	eventually(t, "Status to turn Unavailable", func() (bool, string) {
		_, statusErr = e.m.Status(ctx, &machinev1alpha1.StatusRequest{})
		return status.Code(statusErr) == codes.Unavailable, fmt.Sprint(statusErr)
	})
	// Slack for the shutdown and a loaded 2-core machine.
	d := time.Since(start)
	t.Logf("Status Unavailable %s after the apiserver was told to stop", d)
	if d > threshold+interval+3*time.Second {
		t.Errorf("Status turned Unavailable after %s; want about threshold+interval (%s)", d, threshold+interval)
	}
	if msg := statusErr.Error(); !strings.Contains(msg, host) || !strings.Contains(msg, "unreachable since") || !strings.Contains(msg, "readyz") {
		t.Errorf("Status error %q; want it to name %s, since when and the failing /readyz", msg, host)
	}
	if v := reachableGauge(t, host); v != 0 {
		t.Errorf("reachable metric %v during the outage, want 0", v)
	}
	eventually(t, "health NOT_SERVING during the outage", func() (bool, string) { return servingIs(healthpb.HealthCheckResponse_NOT_SERVING) })
	resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{Id: id}})
	if err != nil || len(resp.Machines) != 1 {
		t.Fatalf("list during the outage: %v %v; want the cached machine", resp, err)
	}

	must(t, <-stopped)
	restartCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	must(t, e.cluster.APIServer.Start(restartCtx))
	eventually(t, "Status to succeed after the downstream returned", func() (bool, string) {
		st, err := e.m.Status(ctx, &machinev1alpha1.StatusRequest{})
		if err != nil {
			return false, err.Error()
		}
		return len(st.MachineClassStatus) > 0, fmt.Sprint(st)
	})
	eventually(t, "health SERVING after the outage", func() (bool, string) { return servingIs(healthpb.HealthCheckResponse_SERVING) })
	if v := reachableGauge(t, host); v != 1 {
		t.Errorf("reachable metric %v after recovery, want 1", v)
	}
}

// reachableGauge reads ironfed_broker_downstream_reachable for host.
func reachableGauge(t *testing.T, host string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	must(t, err)
	for _, f := range families {
		if f.GetName() != "ironfed_broker_downstream_reachable" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "downstream" && l.GetValue() == host {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no reachable metric for %s", host)
	return -1
}
