package machinebroker

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
)

func TestDownstreamSyncedSummary(t *testing.T) {
	cond := func(typ string, st corev1.ConditionStatus, reason, msg string) computev1alpha1.MachineCondition {
		return computev1alpha1.MachineCondition{Type: computev1alpha1.MachineConditionType(typ), Status: st, Reason: reason, Message: msg}
	}
	for name, tc := range map[string]struct {
		conds                 []computev1alpha1.MachineCondition
		status, reason, inMsg string // inMsg "": no message at all
	}{
		"nothing yet": {nil, "Unknown", "Pending", ""},
		"unschedulable": {[]computev1alpha1.MachineCondition{
			cond("Scheduled", corev1.ConditionFalse, "Unschedulable", "0/1 pools fit: 1 has an untolerated taint"),
		}, "False", "Unschedulable", "region: Scheduled=False: 0/1 pools fit"},
		"runtime down": {[]computev1alpha1.MachineCondition{
			cond("Scheduled", corev1.ConditionTrue, "Scheduled", ""),
			cond("RuntimeSynced", corev1.ConditionFalse, "RuntimeUnavailable", "create machine failed (Unavailable): x"),
		}, "False", "RuntimeUnavailable", "region: RuntimeSynced=False: create machine failed"},
		"deeper failure wins and keeps its path": {[]computev1alpha1.MachineCondition{
			cond("RuntimeSynced", corev1.ConditionTrue, "Synced", ""),
			cond("DownstreamSynced", corev1.ConditionFalse, "Unschedulable", "leaf: Scheduled=False: no pool"),
		}, "False", "Unschedulable", "region: leaf: Scheduled=False: no pool"},
		"materialised": {[]computev1alpha1.MachineCondition{
			cond("Scheduled", corev1.ConditionTrue, "Scheduled", ""),
			cond("RuntimeSynced", corev1.ConditionTrue, "Synced", ""),
		}, "True", "Synced", ""},
		"materialised but pending below": {[]computev1alpha1.MachineCondition{
			cond("RuntimeSynced", corev1.ConditionTrue, "Synced", ""),
			cond("DownstreamSynced", corev1.ConditionUnknown, "Pending", "leaf: not materialised yet"),
		}, "Unknown", "Pending", ""},
	} {
		t.Run(name, func(t *testing.T) {
			m := &computev1alpha1.Machine{}
			m.Status.Conditions = append(tc.conds, cond("Custom", corev1.ConditionTrue, "FromProvider", "kept"))
			out := conditionsToIRI("region", m)
			var custom, summaries int
			for _, c := range out {
				switch c.Type {
				case "Custom":
					custom++
				case commonv1alpha1.ConditionTypeDownstreamSynced:
					summaries++
					if c.Status != tc.status || c.Reason != tc.reason || !strings.Contains(c.Message, tc.inMsg) || (tc.inMsg == "") != (c.Message == "") {
						t.Errorf("DownstreamSynced = %s/%s %q; want %s/%s containing %q", c.Status, c.Reason, c.Message, tc.status, tc.reason, tc.inMsg)
					}
				default:
					t.Errorf("condition %s passed up; the levels below own it", c.Type)
				}
			}
			if custom != 1 || summaries != 1 {
				t.Errorf("got %d provider conditions and %d summaries, want 1 and 1", custom, summaries)
			}
		})
	}
}
