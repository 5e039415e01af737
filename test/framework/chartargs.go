package framework

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// ContainerArgs renders chart (a directory) with helm template and the given --set values, and
// returns the arguments of every container of its Deployments and DaemonSets by the base name of
// the container's command.
func ContainerArgs(t testing.TB, h *Helm, chart, release, namespace string, set ...string) map[string][]string {
	t.Helper()
	manifests, err := h.Template(t.Context(), chart, release, namespace, false, set...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		// A Deployment and a DaemonSet share the pod template's path.
		var d appsv1.Deployment
		if err := json.Unmarshal(raw, &d); err != nil || (d.Kind != "Deployment" && d.Kind != "DaemonSet") {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if len(c.Command) > 0 {
				out[filepath.Base(c.Command[0])] = c.Args
			}
		}
	}
	return out
}

// CompareArgs lists how got (a process's flags) differs from want (its chart's container):
// flags in instance may differ in value; flags in local may be set by the process only.
func CompareArgs(want, got []string, instance map[string]bool, local map[string]string) []string {
	w, g := ParseFlags(want), ParseFlags(got)
	var diffs []string
	for _, f := range slices.Sorted(maps.Keys(w)) {
		gv, ok := g[f]
		switch {
		case instance[f]:
		case !ok:
			diffs = append(diffs, fmt.Sprintf("chart sets %s=%v, the process does not", f, w[f]))
		case !slices.Equal(w[f], gv):
			diffs = append(diffs, fmt.Sprintf("%s: chart %v, process %v", f, w[f], gv))
		}
	}
	for _, f := range slices.Sorted(maps.Keys(g)) {
		if _, ok := w[f]; !ok && !instance[f] && local[f] == "" {
			diffs = append(diffs, fmt.Sprintf("the process sets %s=%v, which the chart does not (not a local flag)", f, g[f]))
		}
	}
	return diffs
}

// ParseFlags maps each --flag of args to its values, in order ("--flag" alone has value "").
func ParseFlags(args []string) map[string][]string {
	out := map[string][]string{}
	for _, a := range args {
		f, v, _ := strings.Cut(a, "=")
		out[f] = append(out[f], v)
	}
	return out
}
