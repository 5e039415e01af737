package libvirt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/yaml"

	"github.com/ironfed/ironfed/providers/libvirt/image"
)

// MachineClass is a machine class the provider offers: the vCPUs and memory of one machine.
type MachineClass struct {
	Name string `json:"name"`
	// CPU is whole vCPUs (IronCore convention: class resources are whole units).
	CPU int64 `json:"cpu"`
	// MemoryBytes is the guest memory.
	MemoryBytes int64 `json:"memoryBytes"`
}

// Domain types.
const (
	DomainTypeKVM  = "kvm"
	DomainTypeQEMU = "qemu"
	DomainTypeAuto = "auto"
)

// Config configures the provider. Zero values take the defaults named per field.
type Config struct {
	// Socket is libvirtd's read-write unix socket. Required.
	Socket string
	// RootDir holds machines/<id>/ (ignition, disks, console log) and images/ (the image cache). Required.
	RootDir string
	// DomainType is kvm, qemu (TCG) or auto (default): kvm only when /dev/kvm opens, libvirt offers
	// kvm and the CPU has vmx/svm (a kvm_pvm host advertises kvm but cannot boot Linux).
	DomainType string
	// Classes are the machine classes offered. Required.
	Classes []MachineClass
	// CPUOvercommit multiplies the host CPUs (default 1); ReservedCPUs and ReservedMemoryBytes are
	// kept for the host.
	CPUOvercommit       float64
	ReservedCPUs        int64
	ReservedMemoryBytes int64
	// ShutdownTimeout is how long an ACPI shutdown may take before the domain is destroyed (default 60s).
	ShutdownTimeout time.Duration
	// ResyncPeriod is how often every machine is compared with libvirt besides libvirt's events
	// (default 30s).
	ResyncPeriod time.Duration
	// PCIeRootPorts pre-created per domain for hot plug (default 16).
	PCIeRootPorts int
	// ExecBaseURL is where the exec server (ExecHandler) is reachable; empty: Exec is Unimplemented.
	ExecBaseURL string
	// Registry says how to reach image registries.
	Registry image.RegistryOptions
	// Owner marks the domains this provider manages (default: RootDir); the orphan sweep touches only
	// domains with this owner.
	Owner string
	Log   logr.Logger
}

func (c Config) validate() error {
	var errs []error
	if c.Socket == "" {
		errs = append(errs, errors.New("the libvirtd socket is required"))
	}
	if c.RootDir == "" {
		errs = append(errs, errors.New("the root directory is required"))
	}
	switch c.DomainType {
	case "", DomainTypeAuto, DomainTypeKVM, DomainTypeQEMU:
	default:
		errs = append(errs, fmt.Errorf("domain type %q: want kvm, qemu or auto", c.DomainType))
	}
	if len(c.Classes) == 0 {
		errs = append(errs, errors.New("at least one machine class is required"))
	}
	seen := map[string]bool{}
	for _, k := range c.Classes {
		if k.Name == "" || k.CPU <= 0 || k.MemoryBytes < 64<<20 {
			errs = append(errs, fmt.Errorf("machine class %q: name, cpu > 0 and memoryBytes >= 64 MiB are required", k.Name))
		}
		if seen[k.Name] {
			errs = append(errs, fmt.Errorf("machine class %q is defined twice", k.Name))
		}
		seen[k.Name] = true
	}
	if c.CPUOvercommit < 0 || c.ReservedCPUs < 0 || c.ReservedMemoryBytes < 0 {
		errs = append(errs, errors.New("overcommit and reserves must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.DomainType == "" {
		c.DomainType = DomainTypeAuto
	}
	if c.CPUOvercommit == 0 {
		c.CPUOvercommit = 1
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 60 * time.Second
	}
	if c.ResyncPeriod == 0 {
		c.ResyncPeriod = 30 * time.Second
	}
	if c.PCIeRootPorts == 0 {
		c.PCIeRootPorts = 16
	}
	if c.Owner == "" {
		c.Owner = c.RootDir
	}
	c.ExecBaseURL = strings.TrimSuffix(c.ExecBaseURL, "/")
	return c
}

// LoadClasses reads a classes file: a YAML or JSON list of {name, cpu, memoryBytes}.
func LoadClasses(path string) ([]MachineClass, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []MachineClass
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(b), &out); err != nil {
		return nil, fmt.Errorf("machine classes file %s: %w", path, err)
	}
	return out, nil
}
