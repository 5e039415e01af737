package common

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
)

func machineWith(annotation string, generation int64) *computev1alpha1.Machine {
	m := &computev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m", Generation: generation}}
	if annotation != "" {
		m.Annotations = map[string]string{GenerationAnnotation: annotation}
	}
	return m
}

func TestIRIGeneration(t *testing.T) {
	for name, tc := range map[string]struct {
		annotation string
		downstream int64
		want       int64
	}{
		"the annotation, downstream 0 (IronCore)":  {"3", 0, 3},
		"the annotation, not the downstream count": {"2", 7, 2},
		"no annotation (an older broker's object)": {"", 5, 5},
		"no annotation, downstream 0":              {"", 0, 1},
		"a corrupted annotation reads as none":     {"x", 4, 4},
		"a zero annotation is no generation":       {"0", 0, 1},
		"a negative annotation is no generation":   {"-2", 3, 3},
	} {
		t.Run(name, func(t *testing.T) {
			if got := IRIGeneration(machineWith(tc.annotation, tc.downstream)); got != tc.want {
				t.Errorf("IRIGeneration = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestObservedIRIGeneration(t *testing.T) {
	for name, tc := range map[string]struct {
		annotation           string
		downstream, observed int64
		want                 int64
	}{
		"downstream caught up":             {"3", 4, 4, 3},
		"downstream behind":                {"3", 5, 4, 2},
		"new, not observed yet":            {"1", 1, 0, 0},
		"IronCore: both 0, no signal":      {"3", 0, 0, 3},
		"observed ahead of a stale object": {"3", 4, 5, 3},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ObservedIRIGeneration(machineWith(tc.annotation, tc.downstream), tc.observed); got != tc.want {
				t.Errorf("ObservedIRIGeneration = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWithNextGeneration(t *testing.T) {
	cur := machineWith("4", 0)
	for name, patch := range map[string]map[string]any{
		"no metadata":              {"spec": map[string]any{"power": "Off"}},
		"metadata, no annotations": {"metadata": map[string]any{"resourceVersion": "9"}},
		"annotations as any":       {"metadata": map[string]any{"annotations": map[string]any{"k": "v"}}},
		"annotations as strings":   {"metadata": map[string]any{"annotations": map[string]string{"k": "v"}}},
	} {
		t.Run(name, func(t *testing.T) {
			withNextGeneration(patch, cur)
			md := patch["metadata"].(map[string]any)
			var got any
			switch a := md["annotations"].(type) {
			case map[string]any:
				got = a[GenerationAnnotation]
			case map[string]string:
				got = a[GenerationAnnotation]
			}
			if got != "5" {
				t.Fatalf("patch %v: generation %v, want 5", patch, got)
			}
		})
	}
}
