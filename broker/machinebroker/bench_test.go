package machinebroker_test

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
)

// BenchmarkListMachines10k lists 10,000 brokered machines through the
// broker and, in the same run, directly from the downstream apiserver; then
// measures CreateMachine. Run with -bench ListMachines10k -benchtime=1x.
func BenchmarkListMachines10k(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a cluster; run make test")
	}
	const machines = 10000
	e := startEnv(b, nil)
	ctx := context.Background()
	seed10k(b, ctx, e.kube, machines)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{})
		if err == nil && len(resp.Machines) == machines {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("broker lists %d machines, want %d (%v)", len(resp.GetMachines()), machines, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var broker, direct, create []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 50; j++ {
			start := time.Now()
			resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{})
			broker = append(broker, time.Since(start))
			if err != nil || len(resp.Machines) < machines {
				b.Fatalf("list: %d, %v", len(resp.GetMachines()), err)
			}
		}
		for j := 0; j < 5; j++ {
			var list computev1alpha1.MachineList
			start := time.Now()
			must(b, e.kube.List(ctx, &list, client.InNamespace(testNamespace)))
			direct = append(direct, time.Since(start))
		}
		for j := 0; j < 100; j++ {
			start := time.Now()
			_, err := e.m.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: newMachine(map[string]string{labels.MachineUIDLabel: "bench-" + strconv.Itoa(i) + "-" + strconv.Itoa(j)})})
			create = append(create, time.Since(start))
			must(b, err)
		}
	}
	b.StopTimer()
	report := func(name string, d []time.Duration) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		p50, p99 := d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
		b.ReportMetric(float64(p50.Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, name+"-p99-ms")
		b.Logf("%-24s n=%-4d p50 %-10s p99 %s", name, len(d), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	}
	report("broker-ListMachines", broker)
	report("apiserver-List-direct", direct)
	report("broker-CreateMachine", create)
	if rss := selfRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "test-process-RSS-MiB")
		b.Logf("test process RSS (broker + test client) %d MiB; downstream cluster RSS %d MiB", rss>>20, e.cluster.RSS()>>20)
	}
}

// seed10k creates n brokered-looking machines directly downstream, in
// parallel, as the broker would have (created, labels/annotations JSON).
func seed10k(b *testing.B, ctx context.Context, kube client.Client, n int) {
	start := time.Now()
	lbl, _ := json.Marshal(map[string]string{"bench": "true"})
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{
					Namespace: testNamespace, Name: common.NewID(),
					Labels:      map[string]string{common.ManagedByLabel: machinebroker.Name, common.CreatedLabel: "true"},
					Annotations: map[string]string{common.LabelsAnnotation: string(lbl), common.AnnotationsAnnotation: `{"i":"` + strconv.Itoa(i) + `"}`},
				}}
				m.Spec.MachineClassRef = commonv1alpha1.LocalObjectReference{Name: testClass}
				m.Spec.Power = computev1alpha1.PowerOn
				if err := kube.Create(ctx, m); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	b.Logf("seeded %d downstream machines in %s", n, time.Since(start).Round(time.Millisecond))
}

func selfRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
