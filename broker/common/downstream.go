package common

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ironfed/ironfed/federation/api"
	"github.com/ironfed/ironfed/federation/app"
)

// BreakerOptions configure the circuit breaker toward the downstream cluster.
type BreakerOptions struct {
	// ConsecutiveFailures opens the breaker (default 5).
	ConsecutiveFailures uint32
	// OpenTimeout is how long it stays open before letting probes through (default 10s).
	OpenTimeout time.Duration
	// HalfOpenRequests is how many probes may run while half-open (default 1).
	HalfOpenRequests uint32
}

// Downstream is the downstream cluster: an informer cache for reads and a
// client for writes, every write going through a circuit breaker.
type Downstream struct {
	// Host names the downstream cluster in errors and metrics.
	Host string
	// Cache serves every read.
	Cache cache.Cache
	// Config is the broker's identity downstream (consoles authenticate with it).
	Config *rest.Config
	// client writes (and reads uncached objects in the rare cases that need it).
	client  client.Client
	breaker *gobreaker.CircuitBreaker[struct{}]
	timeout time.Duration
	// prober requests /readyz; reach holds the result.
	prober        rest.Interface
	probeInterval time.Duration
	reach         *reachability

	ok, failed, rejected, stale prometheus.Counter
	// waiters wake writes waiting for the cache to show them.
	waiters *waiters
	// stores are the informers' stores, for dropping entries whose deletion event was lost.
	stores *informerStores
	// leading is true while this replica may write (always without leader
	// election); standby is the message writes get otherwise.
	leading atomic.Bool
	standby string
}

var (
	breakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ironfed_broker_downstream_breaker_state",
		Help: "Circuit breaker state toward a downstream cluster: 0 closed, 1 half-open, 2 open.",
	}, []string{"broker", "downstream"})
	downstreamWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_broker_downstream_writes_total",
		Help: "Writes to the downstream cluster by result (ok, error, rejected: breaker open).",
	}, []string{"broker", "downstream", "result"})
	staleReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_broker_stale_reads_total",
		Help: "Reads answered from the cache while the breaker toward the downstream cluster was not closed.",
	}, []string{"broker", "downstream"})
	staleCacheDrops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ironfed_broker_stale_cache_drops_total",
		Help: "Objects dropped from the downstream cache because a delete found them already gone (a lost deletion event).",
	}, []string{"kind"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(breakerState, downstreamWrites, staleReads, staleCacheDrops)
}

// NewScheme returns the scheme of the downstream objects.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := api.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// DownstreamOptions configure NewDownstream.
type DownstreamOptions struct {
	// Broker names the broker (metrics label, managed-by label value).
	Broker string
	// Namespace holds the broker's objects.
	Namespace string
	// Objects are cached in Namespace (namespaced kinds) or cluster-wide.
	// Secrets are always cached, restricted to the broker's own.
	Objects []client.Object
	Breaker BreakerOptions
	// WriteTimeout bounds one downstream write (default 15s).
	WriteTimeout time.Duration
	// AllSecrets caches every Secret of Namespace, not only the broker's
	// own (the bucket broker reads access Secrets written downstream).
	AllSecrets bool
	// Log receives breaker and reachability state changes.
	Log logr.Logger
	// SyncPeriod of the informers (default: controller-runtime's).
	SyncPeriod *time.Duration
	// ProbeInterval between /readyz probes of the downstream (default 5s).
	ProbeInterval time.Duration
	// UnreachableThreshold is how long probes must fail before the
	// downstream counts as unreachable (default 15s).
	UnreachableThreshold time.Duration
	// RequestTimeout bounds every request of the write client (0: none).
	RequestTimeout time.Duration
	// Client, when set, replaces the apiserver (cfg is then ignored): writes
	// go to it and the cache is fed by its List and Watch. The fast tests
	// use controller-runtime's fake client; nothing probes it.
	Client client.WithWatch
}

// NewDownstream builds the cache and breaker-protected client. Call
// Cache.Start before use.
func NewDownstream(cfg *rest.Config, o DownstreamOptions) (*Downstream, error) {
	scheme := NewScheme()
	var copts cache.Options
	if o.Client != nil {
		cfg, copts = clientBacked(o.Client, scheme)
	}
	host := cfg.Host
	if u, err := url.Parse(cfg.Host); err == nil && u.Host != "" {
		host = u.Host
	}
	byObject := map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{ManagedByLabel: o.Broker})},
	}
	if o.AllSecrets {
		byObject = map[client.Object]cache.ByObject{&corev1.Secret{}: {}}
	}
	for _, obj := range o.Objects {
		if _, ok := byObject[obj]; !ok {
			byObject[obj] = cache.ByObject{}
		}
	}
	noCopy := true
	copts.Scheme = scheme
	copts.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	copts.ByObject = byObject
	copts.DefaultUnsafeDisableDeepCopy = &noCopy
	copts.DefaultTransform = compactTransform()
	copts.SyncPeriod = o.SyncPeriod
	if copts.NewInformer == nil { // a client-backed cache (fast tests) brings its own
		copts.NewInformer = app.NewInformer // back within a second of a downstream outage, not a minute
	}
	stores := &informerStores{}
	copts.NewInformer = stores.wrap(copts.NewInformer)
	c, err := cache.New(cfg, copts)
	if err != nil {
		return nil, fmt.Errorf("downstream cache: %w", err)
	}
	var cl client.Client = o.Client
	if cl == nil {
		wcfg := rest.CopyConfig(cfg)
		wcfg.Timeout = o.RequestTimeout
		if cl, err = client.New(wcfg, client.Options{Scheme: scheme}); err != nil {
			return nil, fmt.Errorf("downstream client: %w", err)
		}
	}
	b := o.Breaker
	if b.ConsecutiveFailures == 0 {
		b.ConsecutiveFailures = 5
	}
	if b.OpenTimeout == 0 {
		b.OpenTimeout = 10 * time.Second
	}
	if b.HalfOpenRequests == 0 {
		b.HalfOpenRequests = 1
	}
	d := &Downstream{Host: host, Cache: c, Config: cfg, client: cl, timeout: o.WriteTimeout, waiters: newWaiters(), stores: stores}
	d.leading.Store(true) // Run clears it when it elects a leader
	if d.timeout == 0 {
		d.timeout = 15 * time.Second
	}
	if err := d.setupProbe(cfg, o); err != nil {
		return nil, err
	}
	gauge := breakerState.WithLabelValues(o.Broker, host)
	gauge.Set(0)
	d.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        host,
		MaxRequests: b.HalfOpenRequests,
		Timeout:     b.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.ConsecutiveFailures },
		IsSuccessful: func(err error) bool {
			return !isDownstreamFailure(err)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			gauge.Set(float64(to))
			switch to {
			case gobreaker.StateOpen:
				o.Log.Info("Circuit breaker toward the downstream cluster opened: mutating calls fail fast with Unavailable; reads are served from the cache and may be stale", "downstream", host, "from", from.String())
			case gobreaker.StateHalfOpen:
				o.Log.Info("Probing the downstream cluster", "downstream", host)
			case gobreaker.StateClosed:
				o.Log.Info("Downstream cluster reachable again: circuit breaker closed", "downstream", host)
			}
		},
	})
	d.ok = downstreamWrites.WithLabelValues(o.Broker, host, "ok")
	d.failed = downstreamWrites.WithLabelValues(o.Broker, host, "error")
	d.rejected = downstreamWrites.WithLabelValues(o.Broker, host, "rejected")
	d.stale = staleReads.WithLabelValues(o.Broker, host)
	return d, nil
}

// Write runs one downstream write through the breaker, with a timeout.
// On a standby replica it fails with Unavailable without calling fn.
func (d *Downstream) Write(ctx context.Context, fn func(ctx context.Context, c client.Client) error) error {
	if !d.leading.Load() {
		return status.Error(codes.Unavailable, d.standby)
	}
	_, err := d.breaker.Execute(func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, d.timeout)
		defer cancel()
		return struct{}{}, fn(ctx, d.client)
	})
	switch {
	case err == nil:
		d.ok.Inc()
		d.reach.record(nil, time.Now())
	case isRejected(err):
		d.rejected.Inc()
	default:
		d.failed.Inc()
	}
	return err
}

func isRejected(err error) bool {
	return err == gobreaker.ErrOpenState || err == gobreaker.ErrTooManyRequests
}

// BreakerState reports the breaker's state.
func (d *Downstream) BreakerState() gobreaker.State { return d.breaker.State() }

// NoteRead counts a read served while the breaker is not closed: the cache
// may be stale then, and IRI has no field to say so.
func (d *Downstream) NoteRead() bool {
	if d.breaker.State() == gobreaker.StateClosed {
		return false
	}
	d.stale.Inc()
	return true
}
