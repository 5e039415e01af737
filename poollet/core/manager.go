// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/ironfed/ironfed/federation/api"
	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/iri/remote"
)

// NewScheme returns a scheme with Kubernetes' and ironfed's types.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	return s, errors.Join(clientgoscheme.AddToScheme(s), api.AddToScheme(s))
}

// Parts are the per-kind pieces of a poollet.
type Parts[K client.Object, I remote.Object] struct {
	Adapter Adapter[K, I]
	Pool    PoolAdapter
	Watcher *remote.Watcher[I]
	// RuntimeName is the runtime's Version runtime_name, the scheme of object IDs.
	RuntimeName string
	// PoolRefField is the field selector scoping the cache to the pool, e.g. spec.machinePoolRef.name.
	PoolRefField string
	// Setup, if set, adds kind-specific controllers to the manager.
	Setup func(mgr manager.Manager, o Options) error
}

// NewManager builds a poollet: announcer, heartbeat, watcher, event forwarder and reconciler.
func NewManager[K client.Object, I remote.Object](cfg *rest.Config, o Options, p Parts[K, I]) (manager.Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := remote.RegisterMetrics(ctrlmetrics.Registry); err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	kind := string(p.Adapter.Kind())
	m := o.Manager
	caps := detect(p.Adapter)
	live := []client.Object{&corev1.Secret{}}
	if caps.live != nil {
		live = append(live, caps.live.ReadLive()...)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Logger:                        m.logger().WithName(kind + "poollet"),
		LeaderElection:                m.LeaderElect,
		LeaderElectionNamespace:       m.LeaderElectResourceNamespace,
		LeaderElectionID:              kind + "poollet-" + o.Pool.Name,
		LeaseDuration:                 &m.LeaderElectLeaseDuration,
		RenewDeadline:                 &m.LeaderElectRenewDeadline,
		RetryPeriod:                   &m.LeaderElectRetryPeriod,
		LeaderElectionReleaseOnCancel: !m.LeaderElectKeepOnCancel,
		Metrics:                       m.MetricsSecurity.ServerOptions(m.MetricsBindAddress),
		HealthProbeBindAddress:        m.HealthProbeBindAddress,
		PprofBindAddress:              m.PprofBindAddress,
		Controller:                    app.ControllerConfig(m.SkipControllerNameValidation),
		Cache: cache.Options{
			NewInformer: app.NewInformer, // back within a second of an outage, not a minute
			ByObject: map[client.Object]cache.ByObject{
				// Only what is bound to this pool, filtered by the apiserver.
				p.Adapter.New(): {Field: fields.OneTermEqualSelector(p.PoolRefField, o.Pool.Name), Transform: cacheTransform(caps.compact)},
			},
			DefaultTransform: cacheTransform[K](nil),
		},
		// Secrets (and what the adapter's LiveReader names) are read live, never cached: a cache
		// would hold every one of the cluster (ignition and credentials of objects on other pools
		// included). Their changes are watched metadata-only (SecretWatch, MetadataWatch).
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: live}},
	})
	if err != nil {
		return nil, err
	}
	var indexes []Index
	if caps.watches != nil {
		indexes = caps.watches.Indexes()
	}
	for _, ix := range indexes {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), p.Adapter.New(), ix.Field, ix.Extract); err != nil {
			return nil, fmt.Errorf("index %s: %w", ix.Field, err)
		}
	}
	newObj := func() client.Object { return p.Adapter.New() }
	idx := newIndex(p.Adapter.Kind(), p.Watcher, newObj)
	ann := &Announcer{
		Adapter: p.Pool, Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Pool: o.Pool, Runtime: o.Runtime, WatcherStatus: p.Watcher.Status, nudge: make(chan struct{}, 1),
	}
	rec := &Reconciler[K, I]{
		Adapter: p.Adapter, Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), RuntimeName: p.RuntimeName,
		DownwardAPI: o.DownwardAPI, index: idx, watcher: p.Watcher, nudge: ann.Nudge, runtimeFailed: ann.RuntimeFailed,
	}
	ann.onRecovered = rec.retryFailing
	b := ctrl.NewControllerManagedBy(mgr).
		Named(kind + "poollet").
		For(p.Adapter.New()).
		WatchesRawSource(source.Channel(idx.events, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: m.MaxConcurrentReconciles, RateLimiter: retryLimiter(m.MaxRetryDelay)})
	if caps.watches != nil {
		for _, w := range caps.watches.Watches(mgr.GetClient()) {
			b = b.Watches(w.Object, handler.EnqueueRequestsFromMapFunc(w.Map))
		}
	}
	if err := b.Complete(rec); err != nil {
		return nil, err
	}
	if p.Setup != nil {
		if err := p.Setup(mgr, o); err != nil {
			return nil, err
		}
	}
	runnables := []manager.Runnable{ann, &Heartbeat{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), PoolKind: p.Pool.PoolKind(), Pool: o.Pool}}
	if caps.events != nil {
		runnables = append(runnables, &eventForwarder{
			kind: p.Adapter.Kind(), list: caps.events.ListEvents, newObj: newObj,
			recorder: newEventWriter(mgr.GetClient(), mgr.GetScheme(), kind+"poollet"), period: o.Runtime.RelistPeriod,
			now: func() int64 { return time.Now().Unix() }, // IRI event times are Unix seconds
		})
	}
	watcherRun := manager.RunnableFunc(func(ctx context.Context) error {
		return p.Watcher.Run(ctx, func(ev remote.Event[I]) { idx.handle(ctx, ev) })
	})
	for _, r := range append(runnables, watcherRun) {
		if err := mgr.Add(r); err != nil {
			return nil, err
		}
	}
	synced, err := app.AddCacheSynced(mgr)
	if err != nil {
		return nil, err
	}
	if err := app.AddHealthChecks(mgr, map[string]healthz.Checker{
		"informers-synced": synced.Check,
		// Only the leader lists the runtime; a standby is ready once its caches are.
		"runtime-listed": app.LeaderOnly(mgr, func(*http.Request) error {
			if !p.Watcher.Status().Synced {
				return errors.New("runtime not listed yet")
			}
			return nil
		}),
	}); err != nil {
		return nil, err
	}
	return mgr, nil
}

// retryLimiter is controller-runtime's default limiter with the per-object backoff capped at max.
func retryLimiter(max time.Duration) workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, max),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}
