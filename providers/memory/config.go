package memory

import (
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// MachineClass is a machine class the provider offers.
type MachineClass struct {
	Name string `json:"name"`
	// CPU is the CPU of one machine in whole CPUs: IRI class resources are whole units, as
	// IronCore's poollet derives them with quantity.Value() and matches them by equality.
	CPU int64 `json:"cpu"`
	// MemoryBytes is the memory of one machine.
	MemoryBytes int64 `json:"memoryBytes"`
	// Capacity is how many machines of the class the pool holds in total.
	Capacity int64 `json:"capacity"`
}

// VolumeClass is a volume class the provider offers.
type VolumeClass struct {
	Name string `json:"name"`
	TPS  int64  `json:"tps"`
	IOPS int64  `json:"iops"`
	// CapacityBytes is how many bytes of the class the pool holds in total.
	CapacityBytes int64 `json:"capacityBytes"`
}

// BucketClass is a bucket class the provider offers.
type BucketClass struct {
	Name string `json:"name"`
	TPS  int64  `json:"tps"`
	IOPS int64  `json:"iops"`
	// Capacity is how many buckets of the class the pool holds in total.
	Capacity int64 `json:"capacity"`
}

// Config configures a Provider. The zero value of every field but the class
// lists means "default"; use DefaultConfig for a config that runs a demo.
type Config struct {
	MachineClasses []MachineClass `json:"machineClasses"`
	VolumeClasses  []VolumeClass  `json:"volumeClasses"`
	BucketClasses  []BucketClass  `json:"bucketClasses"`

	// StateDelay delays every state transition (Pending → Running/Available,
	// power changes, attachments) and the removal of a deleted object, which
	// meanwhile shows deleted_at. 0 makes transitions happen within the call.
	StateDelay metav1.Duration `json:"stateDelay,omitempty"`
	// EventCapacity bounds the event ring buffer of each runtime (default 10000).
	EventCapacity int `json:"eventCapacity,omitempty"`
	// WatchBufferSize bounds each watcher's queue of pending events (default
	// 4096); a watcher that falls further behind is dropped with ResourceExhausted.
	WatchBufferSize int `json:"watchBufferSize,omitempty"`
	// BucketEndpoint is the domain under which bucket endpoints are reported
	// (<bucket-id>.<BucketEndpoint>); default "memory.invalid".
	BucketEndpoint string `json:"bucketEndpoint,omitempty"`
	// ExecBaseURL is the base URL of an HTTP server serving ExecHandler, e.g.
	// "http://127.0.0.1:8090". Empty makes Exec answer Unimplemented.
	ExecBaseURL string `json:"execBaseURL,omitempty"`
}

const (
	gi = int64(1) << 30
	ti = int64(1) << 40

	defaultEventCapacity   = 10000
	defaultWatchBufferSize = 4096
	defaultBucketEndpoint  = "memory.invalid"
	// MaxIgnitionBytes bounds a machine's ignition data.
	MaxIgnitionBytes = 1 << 20
)

// DefaultConfig returns classes that make a demo work: machine classes
// m-small (2 CPU, 4 GiB) and m-large (8 CPU, 32 GiB), volume class fast and
// bucket class standard, with instant transitions.
func DefaultConfig() Config {
	return Config{
		MachineClasses: []MachineClass{
			{Name: "m-small", CPU: 2, MemoryBytes: 4 * gi, Capacity: 1000},
			{Name: "m-large", CPU: 8, MemoryBytes: 32 * gi, Capacity: 100},
		},
		VolumeClasses: []VolumeClass{
			{Name: "fast", TPS: 250 << 20, IOPS: 15000, CapacityBytes: 100 * ti},
		},
		BucketClasses: []BucketClass{
			{Name: "standard", TPS: 100 << 20, IOPS: 5000, Capacity: 1000},
		},
	}
}

// LoadConfig reads a YAML or JSON config file. Classes given in the file
// replace the defaults of their kind; kinds the file omits keep the defaults.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading memory provider config: %w", err)
	}
	if err := checkOldFormat(data); err != nil {
		return Config{}, fmt.Errorf("memory provider config %s: %w", path, err)
	}
	var file Config
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return Config{}, fmt.Errorf("parsing memory provider config %s: %w", path, err)
	}
	cfg := DefaultConfig()
	if file.MachineClasses != nil {
		cfg.MachineClasses = file.MachineClasses
	}
	if file.VolumeClasses != nil {
		cfg.VolumeClasses = file.VolumeClasses
	}
	if file.BucketClasses != nil {
		cfg.BucketClasses = file.BucketClasses
	}
	cfg.StateDelay = file.StateDelay
	cfg.EventCapacity = file.EventCapacity
	cfg.WatchBufferSize = file.WatchBufferSize
	cfg.BucketEndpoint = file.BucketEndpoint
	cfg.ExecBaseURL = file.ExecBaseURL
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("memory provider config %s: %w", path, err)
	}
	return cfg, nil
}

// Validate checks names and quantities.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	check := func(kind, name string, quantities ...int64) error {
		if name == "" {
			return fmt.Errorf("a %s class has no name", kind)
		}
		if seen[kind+"/"+name] {
			return fmt.Errorf("%s class %q is defined twice", kind, name)
		}
		seen[kind+"/"+name] = true
		for _, q := range quantities {
			if q < 0 {
				return fmt.Errorf("%s class %q has a negative quantity", kind, name)
			}
		}
		return nil
	}
	for _, mc := range c.MachineClasses {
		if err := check("machine", mc.Name, mc.CPU, mc.MemoryBytes, mc.Capacity); err != nil {
			return err
		}
	}
	for _, vc := range c.VolumeClasses {
		if err := check("volume", vc.Name, vc.TPS, vc.IOPS, vc.CapacityBytes); err != nil {
			return err
		}
	}
	for _, bc := range c.BucketClasses {
		if err := check("bucket", bc.Name, bc.TPS, bc.IOPS, bc.Capacity); err != nil {
			return err
		}
	}
	if c.StateDelay.Duration < 0 {
		return fmt.Errorf("stateDelay must not be negative, got %s", c.StateDelay.Duration)
	}
	if c.EventCapacity < 0 || c.WatchBufferSize < 0 {
		return fmt.Errorf("eventCapacity and watchBufferSize must not be negative")
	}
	return nil
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.EventCapacity == 0 {
		out.EventCapacity = defaultEventCapacity
	}
	if out.WatchBufferSize == 0 {
		out.WatchBufferSize = defaultWatchBufferSize
	}
	if out.BucketEndpoint == "" {
		out.BucketEndpoint = defaultBucketEndpoint
	}
	return out
}

func (c *Config) delay() time.Duration { return c.StateDelay.Duration }

// checkOldFormat names the millicore field of earlier versions, which strict decoding would only
// call unknown.
func checkOldFormat(data []byte) error {
	var old struct {
		MachineClasses []struct {
			Name      string `json:"name"`
			CPUMillis *int64 `json:"cpuMillis"`
		} `json:"machineClasses"`
	}
	if err := yaml.Unmarshal(data, &old); err != nil {
		return nil // the strict decode reports it
	}
	for i, c := range old.MachineClasses {
		if c.CPUMillis != nil {
			return fmt.Errorf("machineClasses[%d] (%q): cpuMillis is no longer supported; give whole CPUs as cpu: %d "+
				"(IRI class resources are whole units, as in IronCore)", i, c.Name, (*c.CPUMillis+999)/1000)
		}
	}
	return nil
}
