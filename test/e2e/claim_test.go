package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
	"github.com/ironfed/ironfed/federation/volumeclaim"
	"github.com/ironfed/ironfed/poollet/core"
)

// Regression (probe): one Volume was attached read-write to two Machines, both Running with no
// condition. A Volume is claimed by one Machine at a time: the other waits, says why, gets a
// Warning event, and takes the Volume over when the first lets go.
func TestVolumeClaimIsExclusive(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "claim")
	root := fed.Client("root")
	vol := newVolume(ns, "shared")
	if err := root.Create(t.Context(), vol); err != nil {
		t.Fatal(err)
	}
	waitVolumeAvailable(t, vol)
	var machines []*computev1alpha1.Machine
	for _, name := range []string{"first", "second"} {
		m := newMachine(ns, name, false)
		m.Spec.Volumes = []computev1alpha1.Volume{{Name: "data", VolumeSource: computev1alpha1.VolumeSource{VolumeRef: &commonv1alpha1.LocalObjectReference{Name: "shared"}}}}
		if err := root.Create(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		machines = append(machines, m)
	}
	var winner, loser *computev1alpha1.Machine
	eventually(t, "one machine Running with the volume, the other waiting for it", func(ctx context.Context) (bool, string, error) {
		for _, m := range machines {
			if err := get(ctx, "root", m); err != nil {
				return false, "", err
			}
		}
		if err := get(ctx, "root", vol); err != nil || vol.Spec.ClaimRef == nil {
			return false, fmt.Sprintf("claim %v", vol.Spec.ClaimRef), err
		}
		winner, loser = machines[0], machines[1]
		if vol.Spec.ClaimRef.UID == loser.UID {
			winner, loser = loser, winner
		}
		c, _ := conditions.Get(loser.Status.Conditions, conditions.Machine, core.ConditionPrerequisitesMet)
		want := "volume shared is claimed by Machine " + winner.Name
		ok := winner.Status.State == computev1alpha1.MachineStateRunning && len(winner.Status.Volumes) == 1 &&
			c.Status == corev1.ConditionFalse && strings.Contains(c.Message, want) && len(loser.Status.Volumes) == 0
		return ok, fmt.Sprintf("winner %s %s volumes %v; loser %s PrerequisitesMet %+v volumes %v", winner.Name, winner.Status.State, winner.Status.Volumes, loser.Name, c, loser.Status.Volumes), nil
	})
	eventually(t, "a VolumeClaimed Warning on the loser", func(ctx context.Context) (bool, string, error) {
		list := &eventsv1.EventList{}
		if err := root.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, "", err
		}
		for _, ev := range list.Items {
			if ev.Regarding.UID == loser.UID && ev.Reason == volumeclaim.ReasonVolumeClaimed && ev.Type == corev1.EventTypeWarning {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d events, none VolumeClaimed on %s", len(list.Items), loser.Name), nil
	})

	if err := root.Delete(t.Context(), winner); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the loser takes the volume over once the winner is gone", func(ctx context.Context) (bool, string, error) {
		if err := get(ctx, "root", loser); err != nil {
			return false, "", err
		}
		if err := get(ctx, "root", vol); err != nil {
			return false, "", err
		}
		ok := vol.Spec.ClaimRef != nil && vol.Spec.ClaimRef.UID == loser.UID && loser.Status.State == computev1alpha1.MachineStateRunning && len(loser.Status.Volumes) == 1
		return ok, fmt.Sprintf("claim %+v; %s %s volumes %v", vol.Spec.ClaimRef, loser.Name, loser.Status.State, loser.Status.Volumes), nil
	})
	if err := root.Delete(t.Context(), loser); err != nil {
		t.Fatal(err)
	}
	deleteAndWaitGone(t, "volume", vol)
}
