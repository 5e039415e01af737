package controllermanager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"

	"github.com/ironfed/ironfed/test/framework"
)

// BenchmarkEventEncoding measures what one bind Event costs the apiserver sent as JSON (what the
// controller-manager's Events were, through the manager's own recorder) against protobuf (what
// app.EventRecorders sends), on one cluster in one run: rounds of 500 creates from 16 writers,
// alternating between the two encodings so that the host's load falls on both alike.
//
// Run: go test -run '^$' -bench EventEncoding -benchtime=1x ./federation/controllermanager/
func BenchmarkEventEncoding(b *testing.B) {
	const rounds, perRound, writers = 6, 500, 16
	c := framework.StartClusters(b, framework.ClustersInput{Names: []string{"bench"}, WithoutControllerManager: true})[0]
	clientFor := func(contentType string) eventsv1client.EventsV1Interface {
		cfg := rest.CopyConfig(c.Config)
		cfg.QPS, cfg.Burst = 1000, 2000
		cfg.ContentType = contentType
		cl, err := eventsv1client.NewForConfig(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return cl
	}
	encodings := []struct {
		name   string
		client eventsv1client.EventsV1Interface
		cpu    float64
		wall   time.Duration
	}{{name: "json", client: clientFor(runtime.ContentTypeJSON)}, {name: "protobuf", client: clientFor(runtime.ContentTypeProtobuf)}}
	apiCPU := func() float64 { return framework.APICostOf(b, c.Config, "events").CPUSeconds }
	ctx := context.Background()
	for r := range 2 * rounds {
		enc := &encodings[r%2]
		cpu, start := apiCPU(), time.Now()
		framework.Parallel(b, perRound, writers, func(i int) error {
			_, err := enc.client.Events("default").Create(ctx, bindEvent(fmt.Sprintf("m-%d-%05d", r, i)), metav1.CreateOptions{})
			return err
		})
		enc.wall += time.Since(start)
		enc.cpu += apiCPU() - cpu
	}
	for _, enc := range encodings {
		n := float64(rounds * perRound)
		b.ReportMetric(enc.cpu/n*1000, enc.name+"-apiserver-CPU-ms/Event")
		b.ReportMetric(n/enc.wall.Seconds(), enc.name+"-Events/s")
		b.Logf("%-8s %d Events: apiserver CPU %.3f ms per Event, %.0f Events/s", enc.name, int(n), enc.cpu/n*1000, n/enc.wall.Seconds())
	}
}

// bindEvent is the scheduler's Normal "Scheduled" Event of a bound Machine, as client-go's
// recorder makes it.
func bindEvent(machine string) *eventsv1.Event {
	now := time.Now()
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", machine, now.UnixNano()), Namespace: "default"},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: "machine-scheduler",
		ReportingInstance:   "machine-scheduler-host",
		Action:              "Schedule",
		Reason:              "Scheduled",
		Regarding:           corev1.ObjectReference{APIVersion: "compute.ironcore.dev/v1alpha1", Kind: "Machine", Namespace: "default", Name: machine, UID: "2f1c6a2e-0000-4000-8000-000000000000", ResourceVersion: "12345"},
		Note:                "Bound to MachinePool pool-0001",
		Type:                corev1.EventTypeNormal,
	}
}
