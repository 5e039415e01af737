// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/poollet/core"
	"github.com/ironfed/ironfed/poollet/machinepoollet"
	"github.com/ironfed/ironfed/providers/memory"
	"github.com/ironfed/ironfed/test/poollettest"
)

// TestMachineIRIAnnotations: the IRI machine carries upstream's generation annotations and the
// configured downward-API labels and annotations; a change of the Machine's annotation reaches
// the IRI machine through UpdateMachineAnnotations, and a spec change moves both generations.
func TestMachineIRIAnnotations(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, false, func(o *core.Options) {
		o.DownwardAPI.Annotations = map[string]string{"team": "metadata.annotations['example.com/team']"}
		o.DownwardAPI.Labels = map[string]string{"app": "metadata.labels['app']"}
	})
	m := newMachine("annotated")
	m.Annotations = map[string]string{"example.com/team": "blue"}
	m.Labels = map[string]string{"app": "web"}
	if err := e.Client.Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	m = waitState(t, e, "annotated", computev1alpha1.MachineStateRunning)
	uid := string(m.UID)
	team, app := labels.DownwardAPILabel(labels.Machine, "team"), labels.DownwardAPILabel(labels.Machine, "app")

	iri := iriMachines(t, e, uid)
	if len(iri) != 1 {
		t.Fatalf("%d IRI machines", len(iri))
	}
	ann := iri[0].GetMetadata().GetAnnotations()
	if ann[labels.MachineGenerationAnnotation] != strconv.FormatInt(m.Generation, 10) || ann[labels.IRIMachineGenerationAnnotation] != "0" || ann[team] != "blue" {
		t.Fatalf("IRI annotations after create %v", ann)
	}
	if got := iri[0].GetMetadata().GetLabels()[app]; got != "web" {
		t.Fatalf("IRI label %s = %q, want web", app, got)
	}

	patchMachine(t, e, "annotated", func(m *computev1alpha1.Machine) { m.Annotations["example.com/team"] = "green" })
	poollettest.Eventually(t, wait, "annotation change reaches the IRI machine", func() error {
		ann := iriMachines(t, e, uid)[0].GetMetadata().GetAnnotations()
		if ann[team] != "green" || ann[labels.MachineGenerationAnnotation] != strconv.FormatInt(m.Generation, 10) {
			return fmt.Errorf("annotations %v", ann)
		}
		return nil
	})

	patchMachine(t, e, "annotated", func(m *computev1alpha1.Machine) { m.Spec.Power = computev1alpha1.PowerOff })
	m = waitState(t, e, "annotated", computev1alpha1.MachineStateShutdown)
	poollettest.Eventually(t, wait, "generations after the power change", func() error {
		got := iriMachines(t, e, uid)[0]
		ann := got.GetMetadata().GetAnnotations()
		want := map[string]string{
			labels.MachineGenerationAnnotation:    strconv.FormatInt(m.Generation, 10),
			labels.IRIMachineGenerationAnnotation: strconv.FormatInt(got.GetMetadata().GetGeneration(), 10),
			team:                                  "green",
		}
		for k, v := range want {
			if ann[k] != v {
				return fmt.Errorf("annotations %v, want %v (IRI generation %d)", ann, want, got.GetMetadata().GetGeneration())
			}
		}
		if got.GetMetadata().GetGeneration() < 2 {
			return fmt.Errorf("IRI generation %d: the power change was not a spec change", got.GetMetadata().GetGeneration())
		}
		return nil
	})
}

// TestMachineStatusWaitsForIRIGeneration: with slow transitions, the Machine never reports the
// new generation as observed while the runtime has not observed the IRI generation the poollet
// recorded in irimachine-generation: observedGeneration = generation implies the new state.
func TestMachineStatusWaitsForIRIGeneration(t *testing.T) {
	t.Parallel()
	cfg := memory.DefaultConfig()
	cfg.StateDelay = metav1.Duration{Duration: 1500 * time.Millisecond}
	e := poollettest.StartWithConfig(t, cfg, false)
	if err := e.Client.Create(t.Context(), &computev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: class},
		Capabilities: commonv1alpha1.ResourceList{commonv1alpha1.ResourceCPU: resource.MustParse("2")}}); err != nil {
		t.Fatal(err)
	}
	o := e.Options(pool)
	poollettest.Run(t, func(ctx context.Context) (manager.Manager, error) { return machinepoollet.New(ctx, e.Config, o) })
	if err := e.Client.Create(t.Context(), newMachine("slow")); err != nil {
		t.Fatal(err)
	}
	m := waitState(t, e, "slow", computev1alpha1.MachineStateRunning)
	patchMachine(t, e, "slow", func(m *computev1alpha1.Machine) { m.Spec.Power = computev1alpha1.PowerOff })
	gen := m.Generation + 1
	deadline := time.Now().Add(wait)
	sawOldWhileChanging := false
	for {
		m = getMachine(t, e, "slow")
		if m.Generation != gen {
			t.Fatalf("generation %d, want %d", m.Generation, gen)
		}
		if m.Status.ObservedGeneration == gen {
			if m.Status.State != computev1alpha1.MachineStateShutdown {
				t.Fatalf("observedGeneration %d reported with state %q before the runtime observed the power-off", gen, m.Status.State)
			}
			break
		}
		if m.Status.State == computev1alpha1.MachineStateRunning {
			sawOldWhileChanging = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("observedGeneration stuck at %d, state %q", m.Status.ObservedGeneration, m.Status.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawOldWhileChanging {
		t.Error("never saw the old generation during the 1.5 s transition: the test proved nothing")
	}
	iri := iriMachines(t, e, string(m.UID))[0]
	_, want := machinepoollet.Generations(iri.GetMetadata().GetAnnotations())
	if want != iri.GetMetadata().GetGeneration() || iri.GetStatus().GetObservedGeneration() < want {
		t.Fatalf("IRI generation %d, observed %d, irimachine-generation %d", iri.GetMetadata().GetGeneration(), iri.GetStatus().GetObservedGeneration(), want)
	}
}
