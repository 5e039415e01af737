// Package topology describes a chained federation: clusters that name their parent. Every
// non-root cluster is joined under its parent by a machine, a volume and a bucket broker, so
// the parent sees it as one pool of each kind; leaves run providers.
package topology

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Topology is the content of a topology file.
type Topology struct {
	Clusters []Cluster `json:"clusters"`
}

// Cluster is one cluster of the federation.
type Cluster struct {
	// Name names the cluster, its pools in the parent and its directory. DNS label.
	Name string `json:"name"`
	// Parent is the cluster this one is joined under; empty for the root.
	Parent string `json:"parent,omitempty"`
	// PoolLabels label the pools that stand for this cluster in its parent, so the parent's
	// objects can select it (e.g. topology.ironcore.dev/zone).
	PoolLabels map[string]string `json:"poolLabels,omitempty"`
}

// Default is root → region → leaf.
func Default() *Topology {
	return &Topology{Clusters: []Cluster{
		{Name: "root"},
		{Name: "region", Parent: "root"},
		{Name: "leaf", Parent: "region"},
	}}
}

// Load reads and validates a topology file (YAML or JSON).
func Load(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("topology %s: %w", path, err)
	}
	return t, nil
}

// Parse decodes and validates a topology; unknown fields are errors.
func Parse(data []byte) (*Topology, error) {
	t := &Topology{}
	if err := yaml.UnmarshalStrict(data, t); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Validate checks names, parents, that there is exactly one root and that every cluster
// reaches it.
func (t *Topology) Validate() error {
	var errs []error
	byName := map[string]Cluster{}
	var roots []string
	for i, c := range t.Clusters {
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, fmt.Errorf("clusters[%d].name %q: %s", i, c.Name, msg))
		}
		if _, dup := byName[c.Name]; dup {
			errs = append(errs, fmt.Errorf("clusters[%d].name %q is used twice", i, c.Name))
		}
		byName[c.Name] = c
		if c.Parent == "" {
			roots = append(roots, c.Name)
		}
		for k, v := range c.PoolLabels {
			for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				errs = append(errs, fmt.Errorf("clusters[%d].poolLabels %s=%s: %s", i, k, v, msg))
			}
		}
	}
	if len(roots) != 1 {
		errs = append(errs, fmt.Errorf("want exactly one cluster without a parent (the root), got %d: %v", len(roots), roots))
	}
	for i, c := range t.Clusters {
		if c.Parent == "" {
			continue
		}
		if _, ok := byName[c.Parent]; !ok {
			errs = append(errs, fmt.Errorf("clusters[%d] %q: parent %q is not a cluster of the topology", i, c.Name, c.Parent))
			continue
		}
		// Walk up: a cycle never reaches a root.
		seen := map[string]bool{c.Name: true}
		for p := c.Parent; p != ""; p = byName[p].Parent {
			if seen[p] {
				errs = append(errs, fmt.Errorf("clusters[%d] %q: parents form a cycle through %q", i, c.Name, p))
				break
			}
			seen[p] = true
		}
	}
	return errors.Join(errs...)
}

// Root returns the cluster without a parent.
func (t *Topology) Root() Cluster {
	for _, c := range t.Clusters {
		if c.Parent == "" {
			return c
		}
	}
	return Cluster{}
}

// Children returns the clusters joined directly under name, in file order.
func (t *Topology) Children(name string) []Cluster {
	var out []Cluster
	for _, c := range t.Clusters {
		if c.Parent == name {
			out = append(out, c)
		}
	}
	return out
}

// IsLeaf says whether nothing is joined under name: leaves run providers.
func (t *Topology) IsLeaf(name string) bool { return len(t.Children(name)) == 0 }

// Ordered returns the clusters root first, each after its parent (breadth first).
func (t *Topology) Ordered() []Cluster {
	out := []Cluster{t.Root()}
	for i := 0; i < len(out); i++ {
		out = append(out, t.Children(out[i].Name)...)
	}
	return out
}

// Depth is the number of edges from the root to name (the root has depth 0).
func (t *Topology) Depth(name string) int {
	byName := map[string]Cluster{}
	for _, c := range t.Clusters {
		byName[c.Name] = c
	}
	d := 0
	for p := byName[name].Parent; p != ""; p = byName[p].Parent {
		d++
	}
	return d
}

// PathFromRoot lists the clusters from the root down to name.
func (t *Topology) PathFromRoot(name string) []string {
	byName := map[string]Cluster{}
	for _, c := range t.Clusters {
		byName[c.Name] = c
	}
	var path []string
	for n := name; n != ""; n = byName[n].Parent {
		path = append([]string{n}, path...)
	}
	return path
}
