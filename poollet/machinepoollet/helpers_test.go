// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/test/poollettest"
)

const (
	pool  = "pool-a"
	class = "m-small"
	wait  = 15 * time.Second
)

// setup starts a cluster, the provider and a machinepoollet for pool-a, with class m-small.
func setup(t *testing.T, noWatch bool, mutate func(*core.Options)) (*poollettest.Env, func()) {
	t.Helper()
	e := poollettest.Start(t, noWatch)
	if err := e.Client.Create(t.Context(), &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: class},
		Capabilities: commonv1alpha1.ResourceList{commonv1alpha1.ResourceCPU: resource.MustParse("2")}}); err != nil {
		t.Fatal(err)
	}
	return e, startPoollet(t, e, mutate)
}

func startPoollet(t *testing.T, e *poollettest.Env, mutate func(*core.Options)) func() {
	o := e.Options(pool)
	if mutate != nil {
		mutate(&o)
	}
	return poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return machinepoollet.New(ctx, e.Config, o) })
}

func newMachine(name string) *computev1alpha1.Machine {
	return &computev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: computev1alpha1.MachineSpec{
			MachineClassRef: commonv1alpha1.LocalObjectReference{Name: class},
			MachinePoolRef:  &commonv1alpha1.LocalObjectReference{Name: pool},
			Power:           computev1alpha1.PowerOn,
		},
	}
}

func getMachine(t *testing.T, e *poollettest.Env, name string) *computev1alpha1.Machine {
	t.Helper()
	m := &computev1alpha1.Machine{}
	if err := e.Client.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: name}, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func waitState(t *testing.T, e *poollettest.Env, name string, state computev1alpha1.MachineState) *computev1alpha1.Machine {
	t.Helper()
	var m *computev1alpha1.Machine
	poollettest.Eventually(t, wait, "machine "+name+" "+string(state), func() error {
		m = getMachine(t, e, name)
		if m.Status.State != state || m.Status.ObservedGeneration != m.Generation {
			return fmt.Errorf("state %q observedGeneration %d generation %d", m.Status.State, m.Status.ObservedGeneration, m.Generation)
		}
		return nil
	})
	return m
}

// iriMachines lists the provider's machines labelled with uid.
func iriMachines(t *testing.T, e *poollettest.Env, uid string) []*machinev1alpha1.Machine {
	t.Helper()
	res, err := e.Provider.MachineServer().ListMachines(t.Context(), &machinev1alpha1.ListMachinesRequest{
		Filter: &machinev1alpha1.MachineFilter{LabelSelector: map[string]string{labels.MachineUIDLabel: uid}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetMachines()
}

func patchMachine(t *testing.T, e *poollettest.Env, name string, mutate func(*computev1alpha1.Machine)) {
	t.Helper()
	m := getMachine(t, e, name)
	orig := m.DeepCopy()
	mutate(m)
	if err := e.Client.Patch(t.Context(), m, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
}

func readyCondition(p *computev1alpha1.MachinePool) (computev1alpha1.MachinePoolCondition, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == computev1alpha1.MachinePoolReady {
			return c, true
		}
	}
	return computev1alpha1.MachinePoolCondition{}, false
}

func waitPoolReady(t *testing.T, e *poollettest.Env, status corev1.ConditionStatus, reason string) *computev1alpha1.MachinePool {
	t.Helper()
	p := &computev1alpha1.MachinePool{}
	poollettest.Eventually(t, wait, "pool Ready="+string(status), func() error {
		if err := e.Client.Get(t.Context(), client.ObjectKey{Name: pool}, p); err != nil {
			return err
		}
		c, ok := readyCondition(p)
		if !ok || c.Status != status || (reason != "" && c.Reason != reason) {
			return fmt.Errorf("conditions %+v", p.Status.Conditions)
		}
		return nil
	})
	return p
}
