package machinebroker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/test/benchproc"
)

// A heap profile (BENCH_HEAP_PROFILE=path) samples every 16 KiB instead of every 512 KiB, so
// the few-MB parts of the broker's memory are told apart.
func init() {
	if os.Getenv("BENCH_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 16 << 10
	}
}

// BenchmarkListMachines10k serves 10,000 brokered machines (as a poollet creates them: its
// identity labels and generation annotations) and prints, each beside its same-run reference:
//   - broker ListMachines over gRPC vs the in-process marshal floor (proto.Marshal + Unmarshal
//     of the very answer: what any gRPC answer of these bytes costs without the transport);
//   - a List by the poollet's UID label (how a poollet finds its machine);
//   - answer bytes per machine vs the same machine in IronCore's broker answer shape (metadata,
//     spec, status without conditions: ironcore broker/machinebroker/server/machine.go);
//   - the process's heap and RSS after GC with the broker's cache warm (the test client holds
//     no cache), and the downstream apiserver's RSS;
//   - CreateMachine vs a direct apiserver List.
//
// Run: make bench-broker, or go test -run '^$' -bench ListMachines10k -benchtime=1x ./broker/machinebroker/
func BenchmarkListMachines10k(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a cluster; run make bench-broker")
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
	heap, rss := settledMemory()
	if path := os.Getenv("BENCH_HEAP_PROFILE"); path != "" {
		f, err := os.Create(path)
		must(b, err)
		must(b, pprof.WriteHeapProfile(f))
		must(b, f.Close())
	}

	var broker, floor, uidSel, direct, create []time.Duration
	var answer *machinev1alpha1.ListMachinesResponse
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Interleaved, so both see the same load of a shared machine.
		for j := 0; j < 30; j++ {
			start := time.Now()
			resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{})
			broker = append(broker, time.Since(start))
			if err != nil || len(resp.Machines) < machines {
				b.Fatalf("list: %d, %v", len(resp.GetMachines()), err)
			}
			answer = resp
			start = time.Now()
			data, err := proto.Marshal(answer)
			must(b, err)
			must(b, proto.Unmarshal(data, &machinev1alpha1.ListMachinesResponse{}))
			floor = append(floor, time.Since(start))
		}
		for j := 0; j < 200; j++ {
			uid := benchUID(j * 37 % machines)
			start := time.Now()
			resp, err := e.m.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{LabelSelector: map[string]string{labels.MachineUIDLabel: uid}}})
			uidSel = append(uidSel, time.Since(start))
			if err != nil || len(resp.Machines) != 1 {
				b.Fatalf("list by uid %s: %d machines, %v", uid, len(resp.GetMachines()), err)
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
	p50 := func(d []time.Duration) time.Duration { return pct(d, 50) }
	report := func(name string, d []time.Duration) {
		b.ReportMetric(float64(pct(d, 50).Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(pct(d, 99).Microseconds())/1000, name+"-p99-ms")
		b.Logf("%-30s n=%-4d p50 %-10s p99 %s", name, len(d), pct(d, 50).Round(10*time.Microsecond), pct(d, 99).Round(10*time.Microsecond))
	}
	report("broker-ListMachines", broker)
	report("marshal-floor", floor)
	b.Logf("%-30s %.2fx the marshal floor (target <= 1.2x)", "broker-ListMachines p50", float64(p50(broker))/float64(p50(floor)))
	b.ReportMetric(float64(p50(broker))/float64(p50(floor)), "list/floor")
	report("broker-List-by-UID-label", uidSel)
	report("apiserver-List-direct", direct)
	report("broker-CreateMachine", create)

	ours, theirs, theirsIDs := 0, 0, 0
	for _, m := range answer.Machines {
		ours += proto.Size(m)
		ic := ironcoreShape(m)
		theirs += proto.Size(ic)
		ic.Metadata.Id = strings.Repeat("0", ironcoreIDLength)
		theirsIDs += proto.Size(ic)
	}
	n := len(answer.Machines)
	if os.Getenv("BENCH_DUMP") != "" {
		fmt.Println(prototext.Format(answer.Machines[0]))
	}
	b.ReportMetric(float64(ours)/float64(n), "answer-B/machine")
	b.ReportMetric(float64(theirs)/float64(n), "ironcore-shape-B/machine")
	b.ReportMetric(float64(theirsIDs)/float64(n), "ironcore-B/machine")
	b.Logf("answer bytes per machine: ours %.1f, IronCore's shape of the same machine %.1f (%.1f with the %d-character ids IronCore mints); whole answer %d KiB (gRPC default limit 4096 KiB: ~%d machines)",
		float64(ours)/float64(n), float64(theirs)/float64(n), float64(theirsIDs)/float64(n), ironcoreIDLength, proto.Size(answer)>>10, (4<<20)*n/proto.Size(answer))
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(rss)/(1<<20), "test-process-RSS-MiB")
	b.Logf("with %d machines cached: heap in use %d MiB, test process RSS %d MiB (broker + test client, after GC); downstream apiserver RSS %d MiB",
		machines, heap>>20, rss>>20, e.cluster.RSS()>>20)
	proc, live, file := brokerProcessRSS(b, e, machines, "")
	b.ReportMetric(float64(proc)/(1<<20), "broker-process-RSS-MiB")
	b.ReportMetric(float64(file)/(1<<20), "broker-process-RSS-file-MiB")
	b.ReportMetric(float64(live)/(1<<20), "broker-process-live-heap-MiB")
	b.Logf("machinebroker process (cmd/machinebroker, listed all %d once) RSS %d MiB (target <= 120 MiB); live heap at its last GC %d MiB", machines, proc>>20, live>>20)
	if ref := os.Getenv("BENCH_BROKER_REF_BIN"); ref != "" {
		// Another build (e.g. of an older commit) over the same cluster, as a same-run reference.
		refRSS, refLive, refFile := brokerProcessRSS(b, e, machines, ref)
		b.ReportMetric(float64(refRSS)/(1<<20), "ref-broker-process-RSS-MiB")
		b.ReportMetric(float64(refFile)/(1<<20), "ref-broker-process-RSS-file-MiB")
		b.ReportMetric(float64(refLive)/(1<<20), "ref-broker-process-live-heap-MiB")
		b.Logf("reference machinebroker %s: RSS %d MiB; live heap at its last GC %d MiB", ref, refRSS>>20, refLive>>20)
	}
	if limit := os.Getenv("BENCH_BROKER_MEMLIMIT"); limit != "" {
		// The same build under a soft memory limit (an operator's knob, not a default).
		limRSS, limLive, _ := brokerProcessRSS(b, e, machines, "", "GOMEMLIMIT="+limit)
		b.ReportMetric(float64(limRSS)/(1<<20), "memlimit-broker-process-RSS-MiB")
		b.Logf("machinebroker process with GOMEMLIMIT=%s: RSS %d MiB; live heap at its last GC %d MiB", limit, limRSS>>20, limLive>>20)
	}
}

// ironcoreIDLength is the length of the ids IronCore's brokers mint (idgen.DefaultIDLength); ours
// are 32.
const ironcoreIDLength = 63

// ironcoreShape is m as IronCore's machine broker answers it: its metadata, spec and status
// without conditions (it sets no machine_conditions).
func ironcoreShape(m *machinev1alpha1.Machine) *machinev1alpha1.Machine {
	out := proto.Clone(m).(*machinev1alpha1.Machine)
	out.Status.MachineConditions = nil
	return out
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}

func benchUID(i int) string { return fmt.Sprintf("2f1c6a2e-0000-4000-8000-%012d", i) }

// seed10k creates n machines directly downstream, in parallel, as the broker does for a
// poollet's create: the poollet's identity labels and generation annotations, the UID label.
func seed10k(b *testing.B, ctx context.Context, kube client.Client, n int) {
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				uid, name := benchUID(i), fmt.Sprintf("machine-%05d", i)
				lbl, _ := json.Marshal(map[string]string{
					labels.MachineUIDLabel: uid, labels.MachineNamespaceLabel: "default", labels.MachineNameLabel: name,
					labels.DownwardAPILabel(labels.Machine, "root-machine-uid"):       uid,
					labels.DownwardAPILabel(labels.Machine, "root-machine-namespace"): "default",
					labels.DownwardAPILabel(labels.Machine, "root-machine-name"):      name,
				})
				ann, _ := json.Marshal(map[string]string{labels.MachineGenerationAnnotation: "1", labels.IRIMachineGenerationAnnotation: "0"})
				m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{
					Namespace: testNamespace, Name: common.NewID(),
					Labels:      map[string]string{common.ManagedByLabel: machinebroker.Name, common.CreatedLabel: "true", common.UIDLabel: uid},
					Annotations: map[string]string{common.LabelsAnnotation: string(lbl), common.AnnotationsAnnotation: string(ann), machinebroker.SpecAnnotation: "{}"},
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

// settledMemory returns the heap in use and the RSS after a GC that returns freed memory to the
// OS, so the seeding's garbage does not count.
func settledMemory() (heap, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), benchproc.PidRSS(os.Getpid())
}
