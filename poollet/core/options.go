// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/iri/remote"
)

// PoolOptions describe the announced pool.
type PoolOptions struct {
	// Name of the pool object (--<kind>-pool-name).
	Name       string
	ProviderID string
	Labels     map[string]string
	// StatusPeriod is how often the runtime's classes and capacity are re-read.
	StatusPeriod time.Duration
	// LeaseNamespace holds the heartbeat Lease (named after the pool); empty is IronCore's
	// namespace of the kind, e.g. ironcore-machinepool-lease.
	LeaseNamespace         string
	HeartbeatInterval      time.Duration
	HeartbeatLeaseDuration time.Duration
}

// RuntimeOptions describe the connection to the IRI runtime.
type RuntimeOptions struct {
	// Endpoint, if empty, is resolved from the environment and well-known sockets.
	Endpoint               string
	SocketDiscoveryTimeout time.Duration
	DialTimeout            time.Duration
	// RelistPeriod is the List interval of a runtime without watch, and the ListEvents period.
	RelistPeriod time.Duration
	// RelistThreshold is how long the runtime may fail before the pool turns Ready=Unknown.
	RelistThreshold time.Duration
}

// ManagerOptions configure the controller-runtime manager.
type ManagerOptions struct {
	MaxConcurrentReconciles int
	// MaxRetryDelay caps the per-object backoff after failed reconciles, so objects held up by a
	// runtime outage are retried within this long after it ends (controller-runtime's own cap
	// is 1000 s).
	MaxRetryDelay      time.Duration
	MetricsBindAddress string
	// MetricsSecurity protects /metrics (--metrics-secure).
	MetricsSecurity        app.MetricsSecurity
	HealthProbeBindAddress string
	// PprofBindAddress serves Go's /debug/pprof (heap profiles of a running poollet); "0" or
	// empty, the default, disables it.
	PprofBindAddress             string
	LeaderElect                  bool
	LeaderElectResourceNamespace string
	LeaderElectLeaseDuration     time.Duration
	LeaderElectRenewDeadline     time.Duration
	LeaderElectRetryPeriod       time.Duration
	// LeaderElectKeepOnCancel keeps the leadership Lease when the manager stops instead of
	// releasing it, so a standby waits out the lease duration (tests simulate a crash with it).
	LeaderElectKeepOnCancel bool
	// SkipControllerNameValidation allows several managers in one process (tests).
	SkipControllerNameValidation bool
	// Logger, if set, replaces controller-runtime's global logger (tests capture logs with it).
	Logger *logr.Logger
}

// logger is the poollet's logger: o.Logger, else controller-runtime's global one.
func (o ManagerOptions) logger() logr.Logger {
	if o.Logger != nil {
		return *o.Logger
	}
	return ctrl.Log
}

// DownwardAPIOptions pass fields of the Kubernetes object to the IRI object, as upstream's
// --<kind>-downward-api-label/-annotation: name -> field path (metadata.name, metadata.namespace,
// metadata.uid, metadata.labels['k'], metadata.annotations['k']). The IRI key is the kind's
// downward-API prefix plus name, e.g. downward-api.machinepoollet.ironcore.dev/<name>.
type DownwardAPIOptions struct {
	// Labels are set at create (IRI labels never change afterwards).
	Labels map[string]string
	// Annotations are set at create and, for machines, kept current with UpdateMachineAnnotations.
	Annotations map[string]string
}

// Options are everything a poollet needs besides its rest.Config.
type Options struct {
	Pool        PoolOptions
	Runtime     RuntimeOptions
	Manager     ManagerOptions
	DownwardAPI DownwardAPIOptions
}

// DefaultOptions are the flag defaults.
func DefaultOptions() Options {
	return Options{
		Pool: PoolOptions{
			StatusPeriod:           10 * time.Second,
			HeartbeatInterval:      10 * time.Second,
			HeartbeatLeaseDuration: 40 * time.Second,
		},
		Runtime: RuntimeOptions{
			DialTimeout:     remote.DefaultDialTimeout,
			RelistPeriod:    5 * time.Second,
			RelistThreshold: 3 * time.Minute,
		},
		Manager: ManagerOptions{
			MaxConcurrentReconciles:      16,
			MaxRetryDelay:                30 * time.Second,
			MetricsBindAddress:           "127.0.0.1:8080",
			HealthProbeBindAddress:       "127.0.0.1:8081",
			PprofBindAddress:             "0",
			LeaderElectResourceNamespace: "kube-system",
			LeaderElectLeaseDuration:     15 * time.Second,
			LeaderElectRenewDeadline:     10 * time.Second,
			LeaderElectRetryPeriod:       2 * time.Second,
		},
	}
}

// AddFlags binds the options; kind is "machine", "volume" or "bucket".
func (o *Options) AddFlags(fs *pflag.FlagSet, kind string) {
	p, r, m := &o.Pool, &o.Runtime, &o.Manager
	fs.StringVar(&p.Name, kind+"-pool-name", p.Name, "Name of the "+kind+" pool to announce and serve.")
	fs.StringVar(&p.ProviderID, "provider-id", p.ProviderID, "Provider ID of the pool (spec.providerID).")
	fs.StringToStringVar(&p.Labels, "pool-labels", p.Labels, "Labels of the pool object, k=v pairs.")
	fs.DurationVar(&p.StatusPeriod, "pool-status-period", p.StatusPeriod, "How often to re-read the runtime's classes and capacity.")
	fs.StringVar(&p.LeaseNamespace, "pool-lease-namespace", p.LeaseNamespace, "Namespace of the pool's heartbeat Lease (named after the pool); empty: IronCore's, ironcore-"+kind+"pool-lease.")
	fs.DurationVar(&p.HeartbeatInterval, "heartbeat-interval", p.HeartbeatInterval, "How often to renew the heartbeat Lease.")
	fs.DurationVar(&p.HeartbeatLeaseDuration, "heartbeat-lease-duration", p.HeartbeatLeaseDuration, "Duration written into the heartbeat Lease.")

	fs.StringVar(&r.Endpoint, kind+"-runtime-endpoint", r.Endpoint, "IRI "+kind+" runtime endpoint (unix:///path); empty: $"+remote.Kind(kind).EnvVar()+", then well-known sockets.")
	fs.DurationVar(&r.SocketDiscoveryTimeout, kind+"-runtime-socket-discovery-timeout", r.SocketDiscoveryTimeout, "How long to wait for a well-known runtime socket to appear.")
	fs.DurationVar(&r.DialTimeout, "dial-timeout", r.DialTimeout, "Timeout for connecting to the runtime.")
	fs.DurationVar(&r.RelistPeriod, "relist-period", r.RelistPeriod, "List period of a runtime without the watch extension, and the ListEvents period.")
	fs.DurationVar(&r.RelistThreshold, "relist-threshold", r.RelistThreshold, "How long the runtime may fail before the pool turns Ready=Unknown.")

	fs.StringToStringVar(&o.DownwardAPI.Labels, kind+"-downward-api-label", o.DownwardAPI.Labels, "Downward-API labels to set on the IRI "+kind+", name=fieldPath.")
	fs.StringToStringVar(&o.DownwardAPI.Annotations, kind+"-downward-api-annotation", o.DownwardAPI.Annotations, "Downward-API annotations to set on the IRI "+kind+", name=fieldPath.")

	fs.IntVar(&m.MaxConcurrentReconciles, "max-concurrent-reconciles", m.MaxConcurrentReconciles, "Objects reconciled in parallel.")
	fs.DurationVar(&m.MaxRetryDelay, "max-retry-delay", m.MaxRetryDelay, "Longest backoff before an object whose reconcile failed is retried (exponential from 5ms).")
	fs.StringVar(&m.MetricsBindAddress, "metrics-bind-address", m.MetricsBindAddress, "Address serving Prometheus /metrics (loopback unless set, e.g. \":8080\" in a pod); \"0\" disables it.")
	m.MetricsSecurity.AddFlags(fs)
	fs.StringVar(&m.HealthProbeBindAddress, "health-probe-bind-address", m.HealthProbeBindAddress, "Address serving /healthz and /readyz (loopback unless set, e.g. \":8081\" in a pod); \"0\" disables it.")
	fs.StringVar(&m.PprofBindAddress, "pprof-bind-address", m.PprofBindAddress, "Address serving Go's /debug/pprof profiles (e.g. \"127.0.0.1:6060\"); \"0\" disables it.")
	fs.BoolVar(&m.LeaderElect, "leader-elect", m.LeaderElect, "Elect a leader before running; required when more than one replica runs.")
	fs.StringVar(&m.LeaderElectResourceNamespace, "leader-elect-resource-namespace", m.LeaderElectResourceNamespace, "Namespace of the leader election Lease.")
	fs.DurationVar(&m.LeaderElectLeaseDuration, "leader-elect-lease-duration", m.LeaderElectLeaseDuration, "How long a standby waits before taking over an unrenewed leadership.")
	fs.DurationVar(&m.LeaderElectRenewDeadline, "leader-elect-renew-deadline", m.LeaderElectRenewDeadline, "How long the leader retries renewing before giving up leadership.")
	fs.DurationVar(&m.LeaderElectRetryPeriod, "leader-elect-retry-period", m.LeaderElectRetryPeriod, "How often to try acquiring or renewing leadership.")
}

// Validate checks what has no usable default.
func (o *Options) Validate() error {
	var errs []error
	if o.Pool.Name == "" {
		errs = append(errs, errors.New("pool name must be set"))
	}
	for name, d := range map[string]time.Duration{
		"pool status period": o.Pool.StatusPeriod, "heartbeat interval": o.Pool.HeartbeatInterval,
		"heartbeat lease duration": o.Pool.HeartbeatLeaseDuration, "relist period": o.Runtime.RelistPeriod,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, d))
		}
	}
	for flag, m := range map[string]map[string]string{"downward-api-label": o.DownwardAPI.Labels, "downward-api-annotation": o.DownwardAPI.Annotations} {
		for name, path := range m {
			if _, err := fieldPathValue(&metav1.ObjectMeta{}, path); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", flag, name, err))
			}
		}
	}
	if o.Manager.MaxRetryDelay < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("max retry delay must be at least 10ms, got %s", o.Manager.MaxRetryDelay))
	}
	if o.Manager.MaxConcurrentReconciles < 1 {
		errs = append(errs, fmt.Errorf("max concurrent reconciles must be at least 1, got %d", o.Manager.MaxConcurrentReconciles))
	}
	return errors.Join(errs...)
}
