package realleaf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"

	"github.com/ironfed/ironfed/providers/libvirt"
	"github.com/ironfed/ironfed/providers/libvirt/image"
	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
)

// GuestCommandLine boots the test guest with its console on the first serial port.
const GuestCommandLine = "console=ttyS0 panic=-1 quiet"

// LibvirtOptions configure the machine leaf.
type LibvirtOptions struct {
	// GuestDir holds the test guest's vmlinuz and initramfs.gz (IRONFED_LIBVIRT_GUEST, printed by
	// hack/leaf-libvirt.sh). Required.
	GuestDir string
	// RegistryBinary is distribution's registry (IRONFED_REGISTRY_BIN). Required.
	RegistryBinary string
	// GuestCommandLine is the kernel command line stored in the image. Default GuestCommandLine.
	GuestCommandLine string
	// Classes offered. Default DefaultMachineClasses().
	Classes []libvirt.MachineClass
	// CPUOvercommit multiplies the host CPUs (default 2: TCG guests of the test image idle).
	CPUOvercommit float64
	// ShutdownTimeout of an ACPI power off before the domain is destroyed (default 30s).
	ShutdownTimeout time.Duration
}

// MachineLeaf is the running libvirt leaf.
type MachineLeaf struct {
	Daemon   *localdaemon.Libvirtd
	Registry *localdaemon.Registry
	// Provider is the in-process libvirt provider; nil with Options.BinDir (a process serves Endpoint).
	Provider *libvirt.Provider
	// Classes the provider offers.
	Classes []libvirt.MachineClass
	// ImageRef is the test guest image in the local registry, for a Machine's localDisk.image.
	ImageRef string
	// Endpoint is the provider's IRI socket (unix://...).
	Endpoint string
	// RootDir holds the provider's machines (console logs under machines/<id>/).
	RootDir string
}

// ConsoleLog is the serial console log file of the leaf machine with IRI id id.
func (m *MachineLeaf) ConsoleLog(id string) string { return libvirt.ConsoleLogPath(m.RootDir, id) }

// domainType is the QEMU domain type the provider uses; a provider process decides it itself.
func (m *MachineLeaf) domainType() string {
	if m.Provider == nil {
		return libvirt.DomainTypeAuto + " (the libvirt-provider process logs its choice)"
	}
	return m.Provider.DomainType()
}

// IDs lists the provider's machines through its IRI socket (in process or not).
func (m *MachineLeaf) IDs(ctx context.Context) ([]string, error) {
	conn, err := remote.Dial(ctx, m.Endpoint)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rt, err := remote.NewMachineRuntime(ctx, conn)
	if err != nil {
		return nil, err
	}
	resp, err := rt.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, mc := range resp.GetMachines() {
		ids = append(ids, mc.GetMetadata().GetId())
	}
	return ids, nil
}

func (l *Leaves) startMachines(ctx context.Context, o Options, lo LibvirtOptions) (*MachineLeaf, error) {
	if lo.GuestDir == "" || lo.RegistryBinary == "" {
		return nil, errors.New("libvirt leaf: the test guest and the registry binary are not set: run `make leaf-libvirt` " +
			"(hack/leaf-libvirt.sh) and pass what it prints (IRONFED_LIBVIRT_GUEST, IRONFED_REGISTRY_BIN)")
	}
	kernel, initrd := filepath.Join(lo.GuestDir, "vmlinuz"), filepath.Join(lo.GuestDir, "initramfs.gz")
	for _, f := range []string{kernel, initrd, lo.RegistryBinary} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("libvirt leaf: %w: run `make leaf-libvirt` (hack/leaf-libvirt.sh) to build it", err)
		}
	}
	if lo.GuestCommandLine == "" {
		lo.GuestCommandLine = GuestCommandLine
	}
	if len(lo.Classes) == 0 {
		lo.Classes = DefaultMachineClasses()
	}
	if lo.CPUOvercommit == 0 {
		lo.CPUOvercommit = 2
	}
	if lo.ShutdownTimeout == 0 {
		lo.ShutdownTimeout = 30 * time.Second
	}
	dir, err := filepath.Abs(filepath.Join(o.Dir, "libvirt"))
	if err != nil {
		return nil, err
	}
	m := &MachineLeaf{Classes: lo.Classes, RootDir: filepath.Join(dir, "provider")}

	start := time.Now()
	d, err := localdaemon.StartLibvirtd(ctx, localdaemon.LibvirtdOptions{Dir: filepath.Join(dir, "libvirtd")})
	if err != nil {
		return nil, fmt.Errorf("libvirt leaf: %w (prerequisites: `make leaf-libvirt` as root)", err)
	}
	m.Daemon = d
	l.onStop(func() error {
		if err := d.Stop(); err != nil {
			return fmt.Errorf("stopping libvirtd %d: %w", d.Pid, err)
		}
		return nil
	})
	l.logf("libvirtd            pid %d, %s (%s)", d.Pid, d.URI, time.Since(start).Round(100*time.Millisecond))

	reg, err := localdaemon.StartRegistry(ctx, localdaemon.RegistryOptions{Dir: filepath.Join(dir, "registry"), Binary: lo.RegistryBinary})
	if err != nil {
		return nil, fmt.Errorf("libvirt leaf: %w", err)
	}
	m.Registry = reg
	l.onStop(reg.Stop)
	ropts := image.RegistryOptions{PlainHTTP: []string{reg.Host}}
	m.ImageRef = reg.Host + "/ironfed/guest:" + filepath.Base(lo.GuestDir)
	if _, err := image.Push(ctx, ropts, m.ImageRef, image.Source{Kernel: kernel, InitRAMFS: initrd, CommandLine: lo.GuestCommandLine}); err != nil {
		return nil, fmt.Errorf("libvirt leaf: pushing the test guest: %w", err)
	}
	l.logf("OCI registry        pid %d, http://%s; test guest pushed as %s", reg.Pid, reg.Host, m.ImageRef)

	if o.BinDir != "" {
		lp, err := l.libvirtProcess(dir, m, d.Socket, ropts.PlainHTTP)
		if err != nil {
			return nil, fmt.Errorf("libvirt leaf: %w", err)
		}
		l.addProcess(lp)
		m.Endpoint = "unix://" + lp.Sockets["machine"]
		// The process goes with the federation; its guests stay libvirtd's (as a pod's), so they go here.
		l.onStop(func() error { return d.DestroyDomains(nil) })
		return m, nil
	}
	execLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p, err := libvirt.New(ctx, libvirt.Config{
		Socket: d.Socket, RootDir: m.RootDir, DomainType: libvirt.DomainTypeAuto, Classes: lo.Classes,
		CPUOvercommit: lo.CPUOvercommit, ReservedMemoryBytes: 1 << 30, ShutdownTimeout: lo.ShutdownTimeout,
		ResyncPeriod: 10 * time.Second, ExecBaseURL: "http://" + execLis.Addr().String(), Registry: ropts,
		Log: o.Log.WithName("libvirt-provider"),
	})
	if err != nil {
		_ = execLis.Close()
		return nil, fmt.Errorf("libvirt leaf: %w", err)
	}
	m.Provider = p
	execSrv := &http.Server{Handler: p.ExecHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = execSrv.Serve(execLis) }()
	// Its machines go with it (removed through the provider, not the socket).
	l.onStop(func() error {
		err := removeMachines(p, d)
		_ = execSrv.Close()
		p.Close()
		return err
	})
	if m.Endpoint, err = l.serve("machine", o.Log.WithName("libvirt-provider"), func(s *grpc.Server) { p.Register(s) }); err != nil {
		return nil, err
	}
	l.logf("libvirt provider    %s (domain type %s, exec http://%s)", m.Endpoint, p.DomainType(), execLis.Addr())
	return m, nil
}

// removeMachines deletes every machine of the provider (domain, disks, directory, secrets) and waits
// for it, bounded; domains still left are destroyed and undefined directly.
func removeMachines(p *libvirt.Provider, d *localdaemon.Libvirtd) error {
	ids := map[string]bool{}
	for _, m := range p.List("", nil) {
		id := m.GetMetadata().GetId()
		ids[id] = true
		_ = p.Delete(id)
	}
	deadline := time.Now().Add(time.Minute)
	for len(p.List("", nil)) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if len(ids) == 0 {
		return nil
	}
	return d.DestroyDomains(func(name string) bool { return ids[name] })
}
