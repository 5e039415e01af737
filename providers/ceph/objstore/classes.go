package objstore

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// VolumeClass is a volume class. TPS (bytes per second) and IOPS are whole
// units; they become the image's librbd QoS limits.
type VolumeClass struct {
	Name string `json:"name"`
	TPS  int64  `json:"tps"`
	IOPS int64  `json:"iops"`
}

// BucketClass is a bucket class. TPS and IOPS are reported to the poollet;
// MaxSizeBytes and MaxObjects (0: unlimited) become the RGW user quota.
type BucketClass struct {
	Name         string `json:"name"`
	TPS          int64  `json:"tps"`
	IOPS         int64  `json:"iops"`
	MaxSizeBytes int64  `json:"maxSizeBytes,omitempty"`
	MaxObjects   int64  `json:"maxObjects,omitempty"`
}

// Classes is the classes file (YAML or JSON).
type Classes struct {
	VolumeClasses []VolumeClass `json:"volumeClasses,omitempty"`
	BucketClasses []BucketClass `json:"bucketClasses,omitempty"`
}

// DefaultClasses are used without a classes file.
func DefaultClasses() Classes {
	return Classes{
		VolumeClasses: []VolumeClass{{Name: "fast", TPS: 100 << 20, IOPS: 3000}, {Name: "slow", TPS: 10 << 20, IOPS: 300}},
		BucketClasses: []BucketClass{{Name: "standard", TPS: 100 << 20, IOPS: 1000, MaxSizeBytes: 1 << 30, MaxObjects: 100000}},
	}
}

// LoadClasses reads a classes file; "" gives DefaultClasses.
func LoadClasses(path string) (Classes, error) {
	if path == "" {
		return DefaultClasses(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Classes{}, fmt.Errorf("classes file: %w", err)
	}
	var c Classes
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return Classes{}, fmt.Errorf("classes file %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Classes{}, fmt.Errorf("classes file %s: %w", path, err)
	}
	return c, nil
}

// Validate checks names (set, unique) and that every figure is a
// non-negative whole number and volume classes set tps or iops.
func (c Classes) Validate() error {
	seen := map[string]bool{}
	for i, v := range c.VolumeClasses {
		if v.Name == "" || seen["v/"+v.Name] {
			return fmt.Errorf("volumeClasses[%d]: name %q is empty or repeated", i, v.Name)
		}
		seen["v/"+v.Name] = true
		if v.TPS < 0 || v.IOPS < 0 || v.TPS+v.IOPS == 0 {
			return fmt.Errorf("volume class %q: tps %d, iops %d: want non-negative whole numbers, at least one set", v.Name, v.TPS, v.IOPS)
		}
	}
	for i, b := range c.BucketClasses {
		if b.Name == "" || seen["b/"+b.Name] {
			return fmt.Errorf("bucketClasses[%d]: name %q is empty or repeated", i, b.Name)
		}
		seen["b/"+b.Name] = true
		if b.TPS < 0 || b.IOPS < 0 || b.MaxSizeBytes < 0 || b.MaxObjects < 0 {
			return fmt.Errorf("bucket class %q: tps, iops, maxSizeBytes and maxObjects must be non-negative", b.Name)
		}
	}
	return nil
}
