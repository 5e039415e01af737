package topology

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	top, err := Parse([]byte(`
clusters:
- name: root
- name: eu
  parent: root
  poolLabels: {topology.ironcore.dev/region: eu}
- name: eu-a
  parent: eu
- name: eu-b
  parent: eu
`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range top.Ordered() {
		names = append(names, c.Name)
	}
	if want := []string{"root", "eu", "eu-a", "eu-b"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Ordered = %v, want %v", names, want)
	}
	if !top.IsLeaf("eu-b") || top.IsLeaf("eu") {
		t.Error("IsLeaf wrong")
	}
	if d := top.Depth("eu-a"); d != 2 {
		t.Errorf("Depth(eu-a) = %d, want 2", d)
	}
	if p := top.PathFromRoot("eu-a"); !reflect.DeepEqual(p, []string{"root", "eu", "eu-a"}) {
		t.Errorf("PathFromRoot = %v", p)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("default topology invalid: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"two roots":      {"clusters: [{name: a}, {name: b}]", "exactly one cluster without a parent"},
		"no clusters":    {"clusters: []", "exactly one cluster without a parent"},
		"unknown parent": {"clusters: [{name: a}, {name: b, parent: c}]", `parent "c" is not a cluster`},
		"cycle":          {"clusters: [{name: r}, {name: a, parent: b}, {name: b, parent: a}]", "cycle"},
		"bad name":       {"clusters: [{name: Root}]", `name "Root"`},
		"duplicate":      {"clusters: [{name: a}, {name: a, parent: a}]", "used twice"},
		"unknown field":  {"clusters: [{name: a, parnet: b}]", "parnet"},
		"bad label":      {"clusters: [{name: a, poolLabels: {'x y': z}}]", "poolLabels"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
