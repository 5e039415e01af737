package controllermanager

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/ironfed/ironfed/federation/app"
)

// Options configure the controller-manager. Flags are named like kube-controller-manager's.
type Options struct {
	// LeaderElect runs at most one active instance; standbys take over within the lease duration.
	LeaderElect                  bool
	LeaderElectResourceNamespace string
	LeaderElectResourceName      string
	LeaderElectLeaseDuration     time.Duration
	LeaderElectRenewDeadline     time.Duration
	LeaderElectRetryPeriod       time.Duration
	// LeaderElectKeepOnCancel keeps the leadership Lease when the manager stops instead of
	// releasing it (tests simulate a crash with it).
	LeaderElectKeepOnCancel bool

	MetricsBindAddress string
	// MetricsSecurity protects /metrics (--metrics-secure).
	MetricsSecurity        app.MetricsSecurity
	HealthProbeBindAddress string

	// PoolMonitorGracePeriod is how long a pool's heartbeat may be silent before it turns
	// Ready=Unknown.
	PoolMonitorGracePeriod time.Duration

	// SchedulerBindWorkers is how many binds each scheduler sends in parallel.
	SchedulerBindWorkers int
	// UnschedulableRetryPeriod retries unschedulable objects even without a triggering event.
	UnschedulableRetryPeriod time.Duration
	// SchedulerBindEvents records a Normal "Scheduled" Event per bind.
	SchedulerBindEvents bool

	// SkipControllerNameValidation allows several managers in one process (tests); controller
	// names are otherwise required to be unique per process for their metrics.
	SkipControllerNameValidation bool
}

// DefaultOptions are the flag defaults.
func DefaultOptions() Options {
	return Options{
		LeaderElect:                  true,
		LeaderElectResourceNamespace: "kube-system",
		LeaderElectResourceName:      "ironfed-controller-manager",
		LeaderElectLeaseDuration:     15 * time.Second,
		LeaderElectRenewDeadline:     10 * time.Second,
		LeaderElectRetryPeriod:       2 * time.Second,
		MetricsBindAddress:           "127.0.0.1:8080",
		HealthProbeBindAddress:       "127.0.0.1:8081",
		PoolMonitorGracePeriod:       40 * time.Second,
		SchedulerBindWorkers:         16,
		UnschedulableRetryPeriod:     time.Minute,
		SchedulerBindEvents:          true,
	}
}

// AddFlags binds the options to flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader before running controllers; required when more than one replica runs.")
	fs.StringVar(&o.LeaderElectResourceNamespace, "leader-elect-resource-namespace", o.LeaderElectResourceNamespace, "Namespace of the leader election Lease.")
	fs.StringVar(&o.LeaderElectResourceName, "leader-elect-resource-name", o.LeaderElectResourceName, "Name of the leader election Lease.")
	fs.DurationVar(&o.LeaderElectLeaseDuration, "leader-elect-lease-duration", o.LeaderElectLeaseDuration, "How long a standby waits before taking over an unrenewed leadership.")
	fs.DurationVar(&o.LeaderElectRenewDeadline, "leader-elect-renew-deadline", o.LeaderElectRenewDeadline, "How long the leader retries renewing before giving up leadership.")
	fs.DurationVar(&o.LeaderElectRetryPeriod, "leader-elect-retry-period", o.LeaderElectRetryPeriod, "How often to try acquiring or renewing leadership.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address serving Prometheus /metrics (loopback unless set, e.g. \":8080\" in a pod); \"0\" disables it.")
	o.MetricsSecurity.AddFlags(fs)
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, "Address serving /healthz and /readyz (loopback unless set, e.g. \":8081\" in a pod); \"0\" disables it.")
	fs.DurationVar(&o.PoolMonitorGracePeriod, "pool-monitor-grace-period", o.PoolMonitorGracePeriod, "How long a pool's heartbeat may be silent before the pool turns Ready=Unknown.")
	fs.IntVar(&o.SchedulerBindWorkers, "scheduler-bind-workers", o.SchedulerBindWorkers, "Binds each scheduler sends in parallel.")
	fs.BoolVar(&o.SchedulerBindEvents, "scheduler-bind-events", o.SchedulerBindEvents, "Record a Scheduled Event per bind (one extra apiserver write per object).")
	fs.DurationVar(&o.UnschedulableRetryPeriod, "unschedulable-retry-period", o.UnschedulableRetryPeriod, "Retry unschedulable objects at least this often.")
}
