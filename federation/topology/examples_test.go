package topology

import (
	"path/filepath"
	"testing"
)

// The topology files shipped in examples/ must load.
func TestExampleTopologiesLoad(t *testing.T) {
	files, err := filepath.Glob("../../examples/topology-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example topologies found: %v", err)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
