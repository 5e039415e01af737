package common

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var downstreamReachable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "ironfed_broker_downstream_reachable",
	Help: "Whether the downstream cluster answers /readyz (1) or has failed for longer than --downstream-unreachable-threshold (0).",
}, []string{"broker", "downstream"})

func init() {
	ctrlmetrics.Registry.MustRegister(downstreamReachable)
}

// UnreachableError says the downstream cluster has failed every probe for
// longer than the threshold. It is a gRPC Unavailable status as it stands.
type UnreachableError struct {
	Host  string
	Since time.Time
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("downstream cluster %s unreachable since %s: %v; serving nothing new until it answers",
		e.Host, e.Since.UTC().Format(time.RFC3339), e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// GRPCStatus lets handlers return the error unchanged.
func (e *UnreachableError) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, e.Error())
}

// reachability tracks probe results: the cache keeps answering during an
// outage, so only an active probe tells that the downstream is gone.
type reachability struct {
	host      string
	threshold time.Duration
	log       logr.Logger
	gauge     prometheus.Gauge

	mu          sync.Mutex
	since       time.Time // first failure of the current run; zero when the last result was a success
	lastErr     error
	unreachable bool
	onChange    []func(reachable bool)
}

// record notes one result; failures only count as unreachable once they
// lasted threshold, so a single blip does not flap the pool.
func (r *reachability) record(err error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.since, r.lastErr = time.Time{}, nil
		if r.unreachable {
			r.unreachable = false
			r.transition(true, nil)
		}
		return
	}
	if r.since.IsZero() {
		r.since = now
	}
	r.lastErr = err
	if !r.unreachable && now.Sub(r.since) >= r.threshold {
		r.unreachable = true
		r.transition(false, err)
	}
}

func (r *reachability) transition(reachable bool, err error) {
	if reachable {
		r.gauge.Set(1)
		r.log.Info("Downstream cluster answers again: Status and class lists served again", "downstream", r.host)
	} else {
		r.gauge.Set(0)
		r.log.Info("Downstream cluster unreachable: Status and class lists fail with Unavailable, object lists are served from the cache",
			"downstream", r.host, "since", r.since, "threshold", r.threshold, "error", err.Error())
	}
	for _, fn := range r.onChange {
		fn(reachable)
	}
}

func (r *reachability) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.unreachable {
		return nil
	}
	return &UnreachableError{Host: r.host, Since: r.since, Err: r.lastErr}
}

// setupProbe builds the /readyz client from the downstream's config (same
// credentials and TLS; /readyz is open to any identity) and the tracker.
func (d *Downstream) setupProbe(cfg *rest.Config, o DownstreamOptions) error {
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/"
	cfg.GroupVersion = &schema.GroupVersion{}
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	cfg.Timeout = 0 // the probe's context bounds it
	var err error
	if d.prober, err = rest.UnversionedRESTClientFor(cfg); err != nil {
		return fmt.Errorf("downstream probe client: %w", err)
	}
	d.probeInterval = o.ProbeInterval
	if d.probeInterval <= 0 {
		d.probeInterval = 5 * time.Second
	}
	threshold := o.UnreachableThreshold
	if threshold <= 0 {
		threshold = 15 * time.Second
	}
	d.reach = &reachability{host: d.Host, threshold: threshold, log: o.Log, gauge: downstreamReachable.WithLabelValues(o.Broker, d.Host)}
	d.reach.gauge.Set(1)
	return nil
}

// Probe requests the downstream's /readyz once and records the result.
func (d *Downstream) Probe(ctx context.Context) error {
	if d.prober == nil {
		return nil // a client-backed downstream (tests): nothing to probe
	}
	timeout := min(d.probeInterval, 5*time.Second)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := d.prober.Get().AbsPath("/readyz").DoRaw(pctx)
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: not the downstream's fault
	}
	d.reach.record(err, time.Now())
	return err
}

// RunProbes probes every probe interval until ctx ends.
func (d *Downstream) RunProbes(ctx context.Context) {
	t := time.NewTicker(d.probeInterval)
	defer t.Stop()
	for {
		_ = d.Probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Unreachable is nil while the downstream answers, else an *UnreachableError
// (gRPC Unavailable) naming the host, since when it fails and the last error.
func (d *Downstream) Unreachable() error { return d.reach.err() }

// OnReachableChange registers fn, called on each transition (under a lock:
// fn must not call back into d).
func (d *Downstream) OnReachableChange(fn func(reachable bool)) {
	d.reach.mu.Lock()
	defer d.reach.mu.Unlock()
	d.reach.onChange = append(d.reach.onChange, fn)
}
