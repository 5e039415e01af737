package memory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	data := `
machineClasses:
- name: tiny
  cpu: 1
  memoryBytes: 536870912
  capacity: 3
stateDelay: 250ms
bucketEndpoint: s3.example.org
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.MachineClasses) != 1 || cfg.MachineClasses[0].Name != "tiny" || cfg.MachineClasses[0].Capacity != 3 {
		t.Errorf("machine classes = %+v", cfg.MachineClasses)
	}
	if len(cfg.VolumeClasses) != 1 || cfg.VolumeClasses[0].Name != "fast" {
		t.Errorf("volume classes not defaulted: %+v", cfg.VolumeClasses)
	}
	if cfg.StateDelay.Duration != 250*time.Millisecond || cfg.BucketEndpoint != "s3.example.org" {
		t.Errorf("stateDelay %s, bucketEndpoint %q", cfg.StateDelay.Duration, cfg.BucketEndpoint)
	}
}

func TestLoadConfigRejectsMistakes(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"unknown field":   "machineClass: []\n",
		"duplicate class": "volumeClasses:\n- {name: a, capacityBytes: 1}\n- {name: a, capacityBytes: 1}\n",
		"nameless class":  "bucketClasses:\n- {capacity: 1}\n",
		"negative":        "machineClasses:\n- {name: a, capacity: -1}\n",
		"negative delay":  "stateDelay: -1s\n",
	}
	for name, data := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(path); err == nil {
			t.Errorf("%s: LoadConfig accepted %q", name, data)
		}
	}
	old := filepath.Join(dir, "millis.yaml")
	if err := os.WriteFile(old, []byte("machineClasses:\n- {name: tiny, cpuMillis: 1500, memoryBytes: 1, capacity: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(old); err == nil || !strings.Contains(err.Error(), "cpuMillis is no longer supported; give whole CPUs as cpu: 2") {
		t.Errorf("old millicore format: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Errorf("missing file accepted")
	}
}
