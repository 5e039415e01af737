// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/federation/ephemeral"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/test/poollettest"
)

// Inline volume and NIC templates become <machine>-<name> objects owned by the machine, made by
// the controller-manager (federation/ephemeral, run here beside the poollet); the poollet waits
// for them. It learns of their changes from metadata-only watches and reads them live: it never
// lists or watches whole Volumes or NetworkInterfaces, which would cache every one of the cluster.
func TestEphemeralVolumesAndNetworkInterfaces(t *testing.T) {
	t.Parallel()
	e := poollettest.Start(t, false)
	ctx := t.Context()
	if err := e.Client.Create(ctx, &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: class}}); err != nil {
		t.Fatal(err)
	}
	reads := &collectionReads{}
	cfg := rest.CopyConfig(e.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { reads.next = rt; return reads })
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) {
		return machinepoollet.New(ctx, cfg, e.Options(pool))
	})
	runEphemeral(t, e.Config)
	m := newMachine("vm")
	m.Spec.Volumes = []computev1alpha1.Volume{{Name: "root", VolumeSource: computev1alpha1.VolumeSource{Ephemeral: &computev1alpha1.EphemeralVolumeSource{
		VolumeTemplate: &storagev1alpha1.VolumeTemplateSpec{Spec: storagev1alpha1.VolumeSpec{
			VolumeClassRef: &commonv1alpha1.LocalObjectReference{Name: "fast"},
			Resources:      commonv1alpha1.ResourceList{commonv1alpha1.ResourceStorage: resource.MustParse("1Gi")},
		}}}}}}
	m.Spec.NetworkInterfaces = []computev1alpha1.NetworkInterface{{Name: "eth0", NetworkInterfaceSource: computev1alpha1.NetworkInterfaceSource{Ephemeral: &computev1alpha1.EphemeralNetworkInterfaceSource{
		NetworkInterfaceTemplate: &networkingv1alpha1.NetworkInterfaceTemplateSpec{Spec: networkingv1alpha1.NetworkInterfaceSpec{
			NetworkRef: commonv1alpha1.LocalObjectReference{Name: "net"},
		}}}}}}
	if err := e.Client.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitPrerequisites(t, e, "vm", corev1.ConditionFalse, machinepoollet.ReasonWaitingForVolumes, "volume vm-root is not Available")
	vol := &storagev1alpha1.Volume{}
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-root"}, vol); err != nil {
		t.Fatal(err)
	}
	nic := &networkingv1alpha1.NetworkInterface{}
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-eth0"}, nic); err != nil {
		t.Fatal(err)
	}
	uid := getMachine(t, e, "vm").UID
	for _, o := range []client.Object{vol, nic} {
		if refs := o.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != uid {
			t.Errorf("%s owner references %v", o.GetName(), refs)
		}
	}
	orig := vol.DeepCopy()
	vol.Status.State = storagev1alpha1.VolumeStateAvailable
	vol.Status.Access = &storagev1alpha1.VolumeAccess{Driver: "memory", Handle: "root"}
	if err := e.Client.Status().Patch(ctx, vol, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, "vm", computev1alpha1.MachineStateRunning)
	poollettest.Eventually(t, wait, "attached", func() error {
		m := getMachine(t, e, "vm")
		if len(m.Status.Volumes) != 1 || m.Status.Volumes[0].VolumeRef.Name != "vm-root" || len(m.Status.NetworkInterfaces) != 1 {
			return fmt.Errorf("volumes %+v nics %+v", m.Status.Volumes, m.Status.NetworkInterfaces)
		}
		return nil
	})

	// Dropping the template from the spec deletes the ephemeral volume.
	patchMachine(t, e, "vm", func(m *computev1alpha1.Machine) { m.Spec.Volumes = nil })
	poollettest.Eventually(t, wait, "ephemeral volume pruned", func() error {
		err := e.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vm-root"}, &storagev1alpha1.Volume{})
		if err == nil {
			return fmt.Errorf("still there")
		}
		return client.IgnoreNotFound(err)
	})
	reads.mu.Lock()
	defer reads.mu.Unlock()
	for _, r := range []string{"volumes", "networkinterfaces"} {
		if len(reads.accept[r]) == 0 {
			t.Errorf("the poollet never listed or watched %s", r)
		}
		for _, a := range reads.accept[r] {
			if !strings.Contains(a, "as=PartialObjectMetadata") {
				t.Errorf("the poollet listed or watched whole %s (Accept %q): its cache would hold every one of the cluster", r, a)
			}
		}
	}
}

// runEphemeral runs the controller-manager's ephemeral controller against cfg.
func runEphemeral(t *testing.T, cfg *rest.Config) {
	poollettest.Run(t, func(context.Context) (manager.Manager, error) {
		scheme, err := core.NewScheme()
		if err != nil {
			return nil, err
		}
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
			Controller: app.ControllerConfig(true)})
		if err != nil {
			return nil, err
		}
		return mgr, (&ephemeral.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)
	})
}

// collectionReads records the Accept header of every list and watch of Volumes and
// NetworkInterfaces.
type collectionReads struct {
	next   http.RoundTripper
	mu     sync.Mutex
	accept map[string][]string
}

func (c *collectionReads) RoundTrip(req *http.Request) (*http.Response, error) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if last := parts[len(parts)-1]; req.Method == http.MethodGet && (last == "volumes" || last == "networkinterfaces") {
		c.mu.Lock()
		if c.accept == nil {
			c.accept = map[string][]string{}
		}
		c.accept[last] = append(c.accept[last], req.Header.Get("Accept"))
		c.mu.Unlock()
	}
	return c.next.RoundTrip(req)
}
