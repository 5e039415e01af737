package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Result labels of scheduleAttempts.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultBindError     = "bind_error"
)

var (
	scheduleAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_scheduler_schedule_attempts_total",
		Help: "Scheduling decisions by kind and result.",
	}, []string{"kind", "result"})
	bindDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ironfed_scheduler_bind_duration_seconds",
		Help:    "Latency of the bind request (the pool-ref patch).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"kind"})
	pendingObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ironfed_scheduler_unschedulable_objects",
		Help: "Objects waiting for a pool that fits.",
	}, []string{"kind"})
)

func init() {
	metrics.Registry.MustRegister(scheduleAttempts, bindDuration, pendingObjects)
}
