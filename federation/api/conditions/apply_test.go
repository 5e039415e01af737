package conditions_test

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ironfed/ironfed/federation/api"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	"github.com/ironfed/ironfed/federation/api/conditions"
)

func TestOwnedStatusSendsOnlyWhatTheWriterOwns(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := api.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m", ResourceVersion: "7"}}
	m.Status.State = computev1alpha1.MachineStateRunning
	for _, typ := range []string{"Scheduled", "PrerequisitesMet", "RuntimeSynced"} {
		m.Status.Conditions, _ = conditions.Set(m.Status.Conditions, conditions.Machine, conditions.Condition{Type: typ, Status: corev1.ConditionTrue, Reason: "R"})
	}
	for _, tc := range []struct {
		name  string
		owned conditions.Owned
		want  string
	}{
		{"poollet", conditions.Owned{Conditions: conditions.AllBut("Scheduled")},
			`{"conditions":["PrerequisitesMet","RuntimeSynced"],"rv":"","state":"Running"}`},
		{"scheduler", conditions.Owned{Fields: []string{}, Conditions: conditions.Only("Scheduled")},
			`{"conditions":["Scheduled"],"rv":"","state":null}`},
		{"conditional, no conditions", conditions.Owned{Fields: []string{"state"}, Conditional: true},
			`{"conditions":null,"rv":"7","state":"Running"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := conditions.OwnedStatus(m, scheme, tc.owned)
			if err != nil {
				t.Fatal(err)
			}
			if u.GetKind() != "Machine" || u.GetAPIVersion() != "compute.ironcore.dev/v1alpha1" || u.GetName() != "m" || u.GetNamespace() != "ns" {
				t.Fatalf("identity: %v", u.Object)
			}
			status := u.Object["status"].(map[string]any)
			var types []string
			if conds, ok := status["conditions"].([]any); ok {
				for _, c := range conds {
					c := c.(map[string]any)
					if c["lastTransitionTime"] == nil {
						t.Errorf("condition %v lost its transition time", c)
					}
					types = append(types, c["type"].(string))
				}
			}
			got, _ := json.Marshal(map[string]any{"conditions": types, "state": status["state"], "rv": u.GetResourceVersion()})
			if string(got) != tc.want {
				t.Errorf("sent %s, want %s", got, tc.want)
			}
			for k, v := range status {
				if v == nil {
					t.Errorf("status.%s is null: a null claims a field without setting it", k)
				}
			}
		})
	}
}
