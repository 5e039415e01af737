package common

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/utils/clock"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/iri/remote"
)

// Options are the flags every broker shares; the pool flags are per kind
// (--machine-pool-name, --volume-pool-name, --bucket-pool-name, ...).
type Options struct {
	Kubeconfig string
	Namespace  string
	// DownstreamName names the downstream cluster in what the broker reports up (default: its
	// address).
	DownstreamName     string
	PoolName           string
	PoolSelector       map[string]string
	Address            string
	SocketMode         os.FileMode
	MetricsBindAddress string
	// MetricsSecurity protects /metrics (--metrics-secure).
	MetricsSecurity        app.MetricsSecurity
	HealthProbeBindAddress string
	KubeAPIQPS             float32
	KubeAPIBurst           int
	Breaker                BreakerOptions
	WriteTimeout           time.Duration
	ConversionCacheSize    int
	WatchBuffer            int
	ProbeInterval          time.Duration
	UnreachableThreshold   time.Duration
	// IncompleteSweepInterval is how often incomplete leftovers of crashed
	// creates are looked for; 0 disables the sweeper.
	IncompleteSweepInterval time.Duration
	// IncompleteGracePeriod is the age an object without the created label
	// must reach before it is swept; it must exceed the write timeout.
	IncompleteGracePeriod time.Duration
	// KubeAPITimeout bounds every request of the downstream write client
	// (writes also have WriteTimeout; informer watches are long-lived and
	// not bounded by it).
	KubeAPITimeout time.Duration
	// MetricsReviewKubeconfig is the cluster whose apiserver reviews /metrics callers with
	// --metrics-secure; empty: the in-cluster config. Never the downstream (metricsServerOptions).
	MetricsReviewKubeconfig string
	LeaderElection
	Console ConsoleOptions
	// Clock is the sweeper's clock (not a flag; tests inject a fake one).
	Clock clock.PassiveClock
}

// ConsoleOptions configure the machine broker's console endpoint (Exec).
type ConsoleOptions struct {
	// BindAddress of the HTTP server behind the Exec URLs; empty makes Exec
	// answer Unimplemented.
	BindAddress string
	// URL is the base of the Exec URLs (default http://<bind address>).
	URL string
	// PoolletCAFile verifies the downstream machinepoollets' console
	// certificates; empty: the downstream kubeconfig's CA does.
	PoolletCAFile string
	// InsecureSkipVerify skips that verification (poollets with a
	// self-signed certificate).
	InsecureSkipVerify bool
}

// LeaderElection configures the Lease that makes one replica the writer of
// the namespace; the other replicas are warm standbys that serve reads.
type LeaderElection struct {
	LeaderElect bool
	// LeaderElectResourceName and LeaderElectResourceNamespace name the
	// Lease (default: the broker's name, e.g. machinebroker, in --namespace).
	LeaderElectResourceName      string
	LeaderElectResourceNamespace string
	LeaderElectLeaseDuration     time.Duration
	LeaderElectRenewDeadline     time.Duration
	LeaderElectRetryPeriod       time.Duration
	// LeaderElectNoRelease keeps the Lease when the context ends instead of
	// handing it over at once (tests use it to simulate a crash).
	LeaderElectNoRelease bool
}

// DefaultOptions returns the defaults of broker kind ("machine", "volume", "bucket").
func DefaultOptions(kind string) Options {
	return Options{
		Namespace:               "default",
		Address:                 "/var/run/iri-" + kind + "broker.sock",
		SocketMode:              remote.DefaultSocketMode, // 0600: only the poollet beside it (same user) may call
		MetricsBindAddress:      "127.0.0.1:8080",
		HealthProbeBindAddress:  "127.0.0.1:8081",
		KubeAPIQPS:              200,
		KubeAPIBurst:            400,
		Breaker:                 BreakerOptions{ConsecutiveFailures: 5, OpenTimeout: 10 * time.Second, HalfOpenRequests: 1},
		WriteTimeout:            15 * time.Second,
		ConversionCacheSize:     50000,
		WatchBuffer:             DefaultWatchBuffer,
		ProbeInterval:           5 * time.Second,
		UnreachableThreshold:    15 * time.Second,
		IncompleteSweepInterval: time.Minute,
		IncompleteGracePeriod:   5 * time.Minute,
		KubeAPITimeout:          30 * time.Second,
		LeaderElection: LeaderElection{
			LeaderElectLeaseDuration: 15 * time.Second,
			LeaderElectRenewDeadline: 10 * time.Second,
			LeaderElectRetryPeriod:   2 * time.Second,
		},
	}
}

type modeValue struct{ m *os.FileMode }

func (v modeValue) String() string { return fmt.Sprintf("%#o", uint32(*v.m)) }
func (v modeValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return fmt.Errorf("socket mode %q is not an octal number: %w", s, err)
	}
	*v.m = os.FileMode(n)
	return nil
}
func (v modeValue) Type() string { return "octal" }

// Validate checks option combinations.
func (o *Options) Validate() error {
	if o.LeaderElect && !(o.LeaderElectRetryPeriod > 0 && o.LeaderElectRetryPeriod < o.LeaderElectRenewDeadline && o.LeaderElectRenewDeadline < o.LeaderElectLeaseDuration) {
		return fmt.Errorf("leader election needs 0 < --leader-elect-retry-period (%s) < --leader-elect-renew-deadline (%s) < --leader-elect-lease-duration (%s)",
			o.LeaderElectRetryPeriod, o.LeaderElectRenewDeadline, o.LeaderElectLeaseDuration)
	}
	if o.IncompleteSweepInterval > 0 && o.IncompleteGracePeriod <= o.WriteTimeout {
		return fmt.Errorf("--incomplete-grace-period (%s) must exceed --downstream-write-timeout (%s): a create in flight must never be swept",
			o.IncompleteGracePeriod, o.WriteTimeout)
	}
	return nil
}

// AddFlags registers the flags of broker kind ("machine", "volume", "bucket").
func (o *Options) AddFlags(fs *pflag.FlagSet, kind string) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to the kubeconfig of the downstream cluster; empty uses the in-cluster config.")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Downstream namespace that holds the broker's objects.")
	fs.StringVar(&o.DownstreamName, "downstream-name", o.DownstreamName, "Name of the downstream cluster in conditions reported up (e.g. DownstreamSynced messages); empty: its address.")
	fs.StringVar(&o.PoolName, kind+"-pool-name", o.PoolName, "Downstream "+kind+" pool every object is pinned to (spec."+kind+"PoolRef); also the only pool counted by Status.")
	fs.StringToStringVar(&o.PoolSelector, kind+"-pool-selector", o.PoolSelector, "Labels k=v of the downstream "+kind+" pools objects may be scheduled onto (spec."+kind+"PoolSelector); Status counts the Ready pools matching it.")
	fs.StringVar(&o.Address, "address", o.Address, "Unix socket path the IRI server listens on.")
	if kind == "machine" {
		fs.StringVar(&o.Console.BindAddress, "exec-bind-address", o.Console.BindAddress, "Address of the HTTP server behind Exec URLs, which proxies consoles to the downstream machinepoollets; empty makes Exec answer Unimplemented.")
		fs.StringVar(&o.Console.URL, "exec-url", o.Console.URL, "Base URL Exec hands out (default http://<exec-bind-address>).")
		fs.StringVar(&o.Console.PoolletCAFile, "downstream-console-ca-file", o.Console.PoolletCAFile, "CA bundle (PEM) that signs the downstream machinepoollets' console certificates; empty: the downstream kubeconfig's CA.")
		fs.BoolVar(&o.Console.InsecureSkipVerify, "insecure-downstream-console", o.Console.InsecureSkipVerify, "Do not verify the downstream machinepoollets' console certificates (e.g. self-signed ones). Insecure: the broker's bearer token goes to whoever answers.")
	}
	fs.Var(modeValue{&o.SocketMode}, "socket-mode", "File mode of the socket, octal.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address of the Prometheus /metrics endpoint (loopback unless set, e.g. \":8080\" in a pod); \"0\" disables it.")
	o.MetricsSecurity.AddFlags(fs)
	fs.StringVar(&o.MetricsReviewKubeconfig, "metrics-review-kubeconfig", o.MetricsReviewKubeconfig, "Kubeconfig of the cluster the broker runs in, whose apiserver reviews /metrics callers with --metrics-secure (not the downstream one of --kubeconfig); empty uses the in-cluster config.")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, "Address of /healthz and /readyz (loopback unless set, e.g. \":8081\" in a pod); \"0\" disables it.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "QPS to the downstream API server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Burst to the downstream API server.")
	fs.Uint32Var(&o.Breaker.ConsecutiveFailures, "breaker-consecutive-failures", o.Breaker.ConsecutiveFailures, "Consecutive failed downstream writes that open the circuit breaker.")
	fs.DurationVar(&o.Breaker.OpenTimeout, "breaker-open-timeout", o.Breaker.OpenTimeout, "How long the breaker stays open before probing the downstream again.")
	fs.Uint32Var(&o.Breaker.HalfOpenRequests, "breaker-half-open-requests", o.Breaker.HalfOpenRequests, "Probe writes allowed while the breaker is half-open.")
	fs.DurationVar(&o.WriteTimeout, "downstream-write-timeout", o.WriteTimeout, "Deadline of one downstream write.")
	fs.IntVar(&o.ConversionCacheSize, "conversion-cache-size", o.ConversionCacheSize, "Converted IRI objects kept (encoded, one per object at its latest converted resourceVersion), at most this many (past it, an arbitrary one is dropped for a new one); 0 disables it.")
	fs.DurationVar(&o.ProbeInterval, "downstream-probe-interval", o.ProbeInterval, "Interval between /readyz probes of the downstream apiserver.")
	fs.DurationVar(&o.UnreachableThreshold, "downstream-unreachable-threshold", o.UnreachableThreshold, "How long /readyz probes must fail, with no successful write in between, before the downstream counts as unreachable: Status and class lists then answer Unavailable and the gRPC health service NOT_SERVING.")
	fs.DurationVar(&o.IncompleteSweepInterval, "incomplete-sweep-interval", o.IncompleteSweepInterval, "Interval at which objects left incomplete by a crashed create (no "+CreatedLabel+" label) are deleted; 0 disables the sweep.")
	fs.DurationVar(&o.IncompleteGracePeriod, "incomplete-grace-period", o.IncompleteGracePeriod, "Age an incomplete object must reach before it is swept; must exceed --downstream-write-timeout.")
	fs.IntVar(&o.WatchBuffer, "watch-buffer", o.WatchBuffer, "Events a watch stream may lag behind before it is dropped with ResourceExhausted.")
	fs.DurationVar(&o.KubeAPITimeout, "kube-api-timeout", o.KubeAPITimeout, "Timeout of every request of the downstream write client (watches are not bounded by it).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader through a Lease in the downstream namespace before writing; required when more than one replica runs. Standbys serve reads and are ready; their writes answer Unavailable.")
	fs.StringVar(&o.LeaderElectResourceName, "leader-elect-resource-name", o.LeaderElectResourceName, "Name of the leader election Lease; empty: the broker's name ("+kind+"broker).")
	fs.StringVar(&o.LeaderElectResourceNamespace, "leader-elect-resource-namespace", o.LeaderElectResourceNamespace, "Namespace of the leader election Lease; empty: --namespace.")
	fs.DurationVar(&o.LeaderElectLeaseDuration, "leader-elect-lease-duration", o.LeaderElectLeaseDuration, "How long a standby waits before taking over an unrenewed leadership.")
	fs.DurationVar(&o.LeaderElectRenewDeadline, "leader-elect-renew-deadline", o.LeaderElectRenewDeadline, "How long the leader retries renewing before giving up leadership.")
	fs.DurationVar(&o.LeaderElectRetryPeriod, "leader-elect-retry-period", o.LeaderElectRetryPeriod, "How often to try acquiring or renewing leadership.")
}
