// Package controllermanager assembles what every cluster level runs: the Machine, Volume and
// Bucket schedulers, the pool heartbeat monitors, volume and network-interface claims, and a
// Machine's ephemeral Volumes and NetworkInterfaces, behind leader election, with health and
// metrics endpoints.
package controllermanager

import (
	"context"
	"errors"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ironfed/ironfed/federation/api"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/federation/classprotection"
	"github.com/ironfed/ironfed/federation/ephemeral"
	"github.com/ironfed/ironfed/federation/poollifecycle"
	"github.com/ironfed/ironfed/federation/scheduler"
	"github.com/ironfed/ironfed/federation/volumeclaim"
)

// NewScheme returns a scheme with Kubernetes' and ironfed's types.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilRuntimeMust(clientgoscheme.AddToScheme(s))
	utilRuntimeMust(api.AddToScheme(s))
	return s
}

func utilRuntimeMust(err error) {
	if err != nil {
		panic(err) // only on programming errors in static scheme registration
	}
}

// New builds the manager. Run it with mgr.Start(ctx).
func New(cfg *rest.Config, o Options) (manager.Manager, error) {
	if o.PoolMonitorGracePeriod <= 0 {
		return nil, fmt.Errorf("pool monitor grace period must be positive, got %s", o.PoolMonitorGracePeriod)
	}
	leaseDuration, renewDeadline, retryPeriod := o.LeaderElectLeaseDuration, o.LeaderElectRenewDeadline, o.LeaderElectRetryPeriod
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        NewScheme(),
		Logger:                        ctrl.Log.WithName("controller-manager"),
		LeaderElection:                o.LeaderElect,
		LeaderElectionNamespace:       o.LeaderElectResourceNamespace,
		LeaderElectionID:              o.LeaderElectResourceName,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
		LeaderElectionReleaseOnCancel: !o.LeaderElectKeepOnCancel,
		Metrics:                       o.MetricsSecurity.ServerOptions(o.MetricsBindAddress),
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		Controller:                    app.ControllerConfig(o.SkipControllerNameValidation),
		Cache: cache.Options{NewInformer: app.NewInformer, ByObject: map[client.Object]cache.ByObject{
			// Only heartbeat Leases, not every Lease of the cluster.
			&coordinationv1.Lease{}: {Namespaces: leaseNamespaces()},
		}},
	})
	if err != nil {
		return nil, err
	}

	rec, err := app.NewEventRecorders(mgr)
	if err != nil {
		return nil, err
	}
	log := ctrl.Log.WithName("scheduler")
	sopts := scheduler.Options{BindWorkers: o.SchedulerBindWorkers, UnschedulableRetryPeriod: o.UnschedulableRetryPeriod, SkipBindEvents: !o.SchedulerBindEvents}
	runnables := []manager.Runnable{
		scheduler.New(scheduler.MachineAdapter(), mgr.GetCache(), mgr.GetClient(), rec.For("machine-scheduler"), log, sopts),
		scheduler.New(scheduler.VolumeAdapter(), mgr.GetCache(), mgr.GetClient(), rec.For("volume-scheduler"), log, sopts),
		scheduler.New(scheduler.BucketAdapter(), mgr.GetCache(), mgr.GetClient(), rec.For("bucket-scheduler"), log, sopts),
	}
	for ns := range leaseNamespaces() {
		runnables = append(runnables, ensureNamespace(mgr.GetAPIReader(), mgr.GetClient(), ns))
	}
	for _, r := range runnables {
		if err := mgr.Add(r); err != nil {
			return nil, err
		}
	}
	if err := errors.Join(
		setupLifecycle(mgr, rec, poollifecycle.MachinePoolAdapter(), o),
		setupLifecycle(mgr, rec, poollifecycle.VolumePoolAdapter(), o),
		setupLifecycle(mgr, rec, poollifecycle.BucketPoolAdapter(), o),
		(&volumeclaim.Reconciler{Client: mgr.GetClient(), Recorder: rec.For("volume-claim")}).SetupWithManager(mgr),
		(&ephemeral.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr),
		(&ephemeral.NICReleaser{Client: mgr.GetClient()}).SetupWithManager(mgr),
	); err != nil {
		return nil, err
	}
	for _, k := range classprotection.Kinds() {
		if err := (&classprotection.Reconciler{Kind: k, Client: mgr.GetClient(), Recorder: rec.For("class-protection")}).SetupWithManager(mgr); err != nil {
			return nil, err
		}
	}

	synced, err := app.AddCacheSynced(mgr)
	if err != nil {
		return nil, err
	}
	if err := app.AddHealthChecks(mgr, map[string]healthz.Checker{"informers-synced": synced.Check}); err != nil {
		return nil, err
	}
	return mgr, nil
}

// leaseNamespaces are IronCore's heartbeat Lease namespaces, one per pool kind.
func leaseNamespaces() map[string]cache.Config {
	out := map[string]cache.Config{}
	for _, k := range commonv1alpha1.PoolKinds {
		out[commonv1alpha1.PoolLeaseNamespace(k)] = cache.Config{}
	}
	return out
}

// ensureNamespace creates the heartbeat Lease namespace so poollets can write into it.
func ensureNamespace(reader client.Reader, c client.Client, name string) manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		err := reader.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			err = c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("ensure namespace %s: %w", name, err)
		}
		<-ctx.Done()
		return nil
	})
}

func setupLifecycle[P client.Object](mgr manager.Manager, rec *app.EventRecorders, a poollifecycle.Adapter[P], o Options) error {
	return (&poollifecycle.Reconciler[P]{
		Adapter:        a,
		Client:         mgr.GetClient(),
		LeaseNamespace: commonv1alpha1.PoolLeaseNamespace(a.Kind),
		GracePeriod:    o.PoolMonitorGracePeriod,
		Recorder:       rec.For("pool-lifecycle"),
	}).SetupWithManager(mgr)
}
