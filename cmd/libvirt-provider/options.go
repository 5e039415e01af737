package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/ironfed/ironfed/federation/app"
	"github.com/ironfed/ironfed/providers/libvirt"
)

// options are the command's flags, grouped by concern.
type options struct {
	socket  string
	libvirt struct {
		socket, daemonDir, domainType string
	}
	rootDir     string
	classesFile string
	resources   struct {
		cpuOvercommit  float64
		reservedCPUs   int64
		reservedMemory string
	}
	shutdownTimeout, resyncPeriod time.Duration
	pcieRootPorts                 int
	registry                      struct {
		plainHTTP       []string
		credentialsFile string
	}
	exec       struct{ bindAddress, url string }
	probeAddr  string
	metricsAdr string
	// metricsSecurity: --metrics-secure, --metrics-cert-dir.
	metricsSecurity app.MetricsSecurity
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.socket, "machine-socket", "/var/run/iri-machineprovider.sock", "IRI machine runtime socket the poollet dials.")
	fs.StringVar(&o.libvirt.socket, "libvirt-socket", "/var/run/libvirt/libvirt-sock", "libvirtd's read-write unix socket (ignored with --libvirt-daemon-dir).")
	fs.StringVar(&o.libvirt.daemonDir, "libvirt-daemon-dir", "", "Start (or adopt) a private libvirtd with its socket, log and pid file in this directory, instead of using --libvirt-socket. It keeps running after the provider exits.")
	fs.StringVar(&o.libvirt.domainType, "domain-type", libvirt.DomainTypeAuto, "Domain type: kvm, qemu (TCG) or auto (kvm only when libvirt offers it, /dev/kvm opens and the CPU has vmx/svm).")
	fs.StringVar(&o.rootDir, "root-dir", "/var/lib/ironfed-libvirt-provider", "Directory of machines (machines/<id>/: ignition, disks, console.log) and the image cache (images/). Also names the domains this provider owns.")
	fs.StringVar(&o.classesFile, "machine-classes-file", "", "YAML/JSON list of machine classes: [{name, cpu, memoryBytes}]. Required.")
	fs.Float64Var(&o.resources.cpuOvercommit, "cpu-overcommit", 1, "Factor on the host's CPUs when computing class quantities.")
	fs.Int64Var(&o.resources.reservedCPUs, "reserved-cpus", 0, "CPUs kept for the host.")
	fs.StringVar(&o.resources.reservedMemory, "reserved-memory", "1Gi", "Memory kept for the host (a Kubernetes quantity).")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", time.Minute, "How long a guest may take to power off after the ACPI power button before it is destroyed.")
	fs.DurationVar(&o.resyncPeriod, "resync-period", 30*time.Second, "How often every machine is compared with libvirt (besides libvirt's lifecycle events).")
	fs.IntVar(&o.pcieRootPorts, "pcie-root-ports", 16, "PCIe root ports per domain: how many disks and NICs can be hot-plugged.")
	fs.StringSliceVar(&o.registry.plainHTTP, "insecure-registries", nil, "Registry hosts (host:port) to pull from over plain HTTP; \"*\" for all.")
	fs.StringVar(&o.registry.credentialsFile, "registry-credentials-file", "", "JSON file {\"<host>\": {\"username\": ..., \"password\": ...}} with registry credentials.")
	fs.StringVar(&o.exec.bindAddress, "exec-bind-address", "", "Address of the HTTP server behind Exec URLs (the serial console over Kubernetes remotecommand, SPDY and WebSocket); empty makes Exec answer Unimplemented.")
	fs.StringVar(&o.exec.url, "exec-url", "", "Base URL Exec hands out (default http://<exec-bind-address>).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", "127.0.0.1:8081", "Address of /healthz and /readyz (loopback unless set, e.g. \":8081\" in a pod); \"0\" disables them.")
	fs.StringVar(&o.metricsAdr, "metrics-bind-address", "127.0.0.1:8080", "Address of /metrics (loopback unless set, e.g. \":8080\" in a pod); \"0\" disables it.")
	o.metricsSecurity.AddFlags(fs)
}

// config builds the provider config from the flags (the libvirt socket is filled in by run).
func (o *options) config() (libvirt.Config, error) {
	var errs []error
	if o.classesFile == "" {
		errs = append(errs, errors.New("--machine-classes-file is required"))
	}
	if o.exec.url != "" && o.exec.bindAddress == "" {
		errs = append(errs, errors.New("--exec-url needs --exec-bind-address: nothing would serve it"))
	}
	if o.exec.url != "" && !strings.Contains(o.exec.url, "://") {
		errs = append(errs, fmt.Errorf("--exec-url %q is not an absolute URL", o.exec.url))
	}
	mem, err := resource.ParseQuantity(o.resources.reservedMemory)
	if err != nil {
		errs = append(errs, fmt.Errorf("--reserved-memory: %w", err))
	}
	if len(errs) > 0 {
		return libvirt.Config{}, errors.Join(errs...)
	}
	classes, err := libvirt.LoadClasses(o.classesFile)
	if err != nil {
		return libvirt.Config{}, err
	}
	cfg := libvirt.Config{
		Socket: o.libvirt.socket, RootDir: o.rootDir, DomainType: o.libvirt.domainType, Classes: classes,
		CPUOvercommit: o.resources.cpuOvercommit, ReservedCPUs: o.resources.reservedCPUs, ReservedMemoryBytes: mem.Value(),
		ShutdownTimeout: o.shutdownTimeout, ResyncPeriod: o.resyncPeriod, PCIeRootPorts: o.pcieRootPorts,
	}
	cfg.Registry.PlainHTTP = o.registry.plainHTTP
	if o.registry.credentialsFile != "" {
		b, err := os.ReadFile(o.registry.credentialsFile)
		if err != nil {
			return cfg, err
		}
		var creds map[string]struct{ Username, Password string }
		if err := json.Unmarshal(b, &creds); err != nil {
			return cfg, fmt.Errorf("--registry-credentials-file: %w", err)
		}
		cfg.Registry.Credentials = map[string]auth.Credential{}
		for host, c := range creds {
			cfg.Registry.Credentials[host] = auth.Credential{Username: c.Username, Password: c.Password}
		}
	}
	return cfg, nil
}
