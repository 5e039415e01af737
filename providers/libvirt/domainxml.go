package libvirt

import (
	"encoding/xml"
	"fmt"
	"net"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// MetadataURI is the namespace of the provider's element in a domain's <metadata>.
const MetadataURI = "https://ironfed.dev/libvirt-provider/v1alpha1"

// metadataKey is the namespace prefix libvirt stores the element under.
const metadataKey = "ironfed"

// IgnitionFWCfgKey is where the guest finds its ignition (IronCore's key, read by Ignition on QEMU).
const IgnitionFWCfgKey = "opt/com.coreos/config"

// domainMeta is the provider's element in the domain's <metadata>: who owns the domain and the
// machine (metadata and spec without ignition, protojson) it materialises.
type domainMeta struct {
	XMLName     xml.Name `xml:"machine"`
	Owner       string   `xml:"owner,attr"`
	ImageDigest string   `xml:"image-digest,attr,omitempty"`
	Machine     string   `xml:",chardata"`
}

// marshal renders the element for a domain definition (prefixed, with its namespace) or, with
// bare, for DomainSetMetadata (which adds prefix and namespace itself).
func (m domainMeta) marshal(bare bool) (string, error) {
	// encoding/xml cannot write a prefixed element, and libvirt drops metadata without a namespace.
	var b strings.Builder
	if bare {
		b.WriteString(`<machine owner="`)
	} else {
		b.WriteString("<" + metadataKey + ":machine xmlns:" + metadataKey + `="` + MetadataURI + `" owner="`)
	}
	if err := xml.EscapeText(&b, []byte(m.Owner)); err != nil {
		return "", err
	}
	if m.ImageDigest != "" {
		b.WriteString(`" image-digest="`)
		if err := xml.EscapeText(&b, []byte(m.ImageDigest)); err != nil {
			return "", err
		}
	}
	b.WriteString(`">`)
	if err := xml.EscapeText(&b, []byte(m.Machine)); err != nil {
		return "", err
	}
	if bare {
		b.WriteString("</machine>")
	} else {
		b.WriteString("</" + metadataKey + ":machine>")
	}
	return b.String(), nil
}

func parseDomainMeta(s string) (domainMeta, error) {
	var m domainMeta
	err := xml.Unmarshal([]byte(s), &m)
	return m, err
}

// diskSpec is one guest disk: a qcow2 file (local disk) or an RBD image (ceph volume).
type diskSpec struct {
	Name   string // IRI volume name
	Target string // vda, vdb, ...
	Serial string
	File   string // qcow2 path, for local disks
	Ceph   *cephDisk
}

type cephDisk struct {
	Pool, Image string
	Monitors    []string // host:port
	User        string
	SecretUUID  string // libvirt secret holding the user's key, if any
	ConfigFile  string // ceph.conf for QEMU's librbd (timeouts), if any
}

// nicSpec is one NIC: user-mode (IronCore's "isolated" network) or, with Bridge, a tap on an existing
// host bridge (guest-to-guest L2).
type nicSpec struct {
	Name   string
	MAC    string
	Bridge string
}

// domainSpec is everything a domain definition is rendered from.
type domainSpec struct {
	ID, UUID, Type          string
	Meta                    string // marshalled domainMeta
	VCPUs                   int64
	MemoryBytes             int64
	Kernel, Initrd, Cmdline string
	IgnitionFile            string
	ConsoleLog              string
	Disks                   []diskSpec
	NICs                    []nicSpec
	RootPorts               int
}

func ptr[T any](v T) *T { return &v }

// renderDomain returns the persistent domain definition: q35, pre-created PCIe root ports for hot plug,
// direct kernel boot when there is a kernel, the ignition via fw_cfg, the serial console on a pty
// logged to ConsoleLog. Without a kernel or a disk there is nothing to boot: SeaBIOS finds no boot
// device and halts (rebootTimeout -1, NIC option ROMs off), which costs no CPU.
func renderDomain(s domainSpec) (string, error) {
	d := &libvirtxml.Domain{
		Type:     s.Type,
		Name:     s.ID,
		UUID:     s.UUID,
		Metadata: &libvirtxml.DomainMetadata{XML: s.Meta},
		Memory:   &libvirtxml.DomainMemory{Value: uint(s.MemoryBytes >> 10), Unit: "KiB"},
		VCPU:     &libvirtxml.DomainVCPU{Placement: "static", Value: uint(s.VCPUs)},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "q35", Type: "hvm"},
			Kernel:  s.Kernel,
			Initrd:  s.Initrd,
			Cmdline: s.Cmdline,
			BIOS:    &libvirtxml.DomainBIOS{UseSerial: "yes", RebootTimeout: ptr(-1)},
		},
		Features:   &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}, APIC: &libvirtxml.DomainFeatureAPIC{}},
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices:    &libvirtxml.DomainDeviceList{},
	}
	if s.Kernel == "" {
		d.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "hd"}}
	}
	if s.Type == DomainTypeQEMU {
		// TCG's translation cache defaults to 1 GiB of address space and ~30 MiB more RSS.
		d.Features.TCG = &libvirtxml.DomainFeatureTCG{TBCache: &libvirtxml.DomainFeatureTCGTBCache{Unit: "MiB", Size: 32}}
	}
	if s.IgnitionFile != "" {
		d.SysInfo = []libvirtxml.DomainSysInfo{{FWCfg: &libvirtxml.DomainSysInfoFWCfg{
			Entry: []libvirtxml.DomainSysInfoEntry{{Name: IgnitionFWCfgKey, File: s.IgnitionFile}},
		}}}
	}
	dev := d.Devices
	dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "pci", Index: ptr(uint(0)), Model: "pcie-root"})
	for i := 1; i <= s.RootPorts; i++ {
		dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "pci", Index: ptr(uint(i)), Model: "pcie-root-port"})
	}
	for _, disk := range s.Disks {
		x, err := renderDisk(disk)
		if err != nil {
			return "", err
		}
		dev.Disks = append(dev.Disks, x)
	}
	for _, n := range s.NICs {
		dev.Interfaces = append(dev.Interfaces, renderNIC(n))
	}
	dev.Serials = []libvirtxml.DomainSerial{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainSerialTarget{Port: ptr(uint(0))},
		Log:    &libvirtxml.DomainChardevLog{File: s.ConsoleLog, Append: "on"},
	}}
	dev.Consoles = []libvirtxml.DomainConsole{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: ptr(uint(0))},
	}}
	dev.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "none"}
	return d.Marshal()
}

// diskAlias and nicAlias name devices so they can be found and detached by name ("ua-" marks
// user aliases in libvirt).
func diskAlias(volume string) string { return "ua-vol-" + aliasSafe(volume) }
func nicAlias(nic string) string     { return "ua-nic-" + aliasSafe(nic) }

func aliasSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func renderDisk(s diskSpec) (libvirtxml.DomainDisk, error) {
	x := libvirtxml.DomainDisk{
		Device: "disk",
		Target: &libvirtxml.DomainDiskTarget{Dev: s.Target, Bus: "virtio"},
		Serial: s.Serial,
		Alias:  &libvirtxml.DomainAlias{Name: diskAlias(s.Name)},
	}
	switch {
	case s.File != "":
		x.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2", Cache: "none", IO: "threads"}
		x.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: s.File}}
	case s.Ceph != nil:
		c := s.Ceph
		x.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw", Cache: "none", IO: "threads"}
		src := &libvirtxml.DomainDiskSourceNetwork{Protocol: "rbd", Name: c.Pool + "/" + c.Image}
		if c.ConfigFile != "" {
			src.Config = &libvirtxml.DomainDiskSourceNetworkConfig{File: c.ConfigFile}
		}
		for _, m := range c.Monitors {
			host, port, err := net.SplitHostPort(m)
			if err != nil {
				host, port = m, "6789"
			}
			if _, err := strconv.ParseUint(port, 10, 16); err != nil {
				return x, runtimeerr.Invalidf("ceph monitor %q has an invalid port", m)
			}
			src.Hosts = append(src.Hosts, libvirtxml.DomainDiskSourceHost{Name: host, Port: port})
		}
		if c.User != "" && c.SecretUUID != "" {
			src.Auth = &libvirtxml.DomainDiskAuth{Username: c.User, Secret: &libvirtxml.DomainDiskSecret{Type: "ceph", UUID: c.SecretUUID}}
		}
		x.Source = &libvirtxml.DomainDiskSource{Network: src}
	default:
		return x, fmt.Errorf("disk %s has no source", s.Name)
	}
	return x, nil
}

func renderNIC(n nicSpec) libvirtxml.DomainInterface {
	src := &libvirtxml.DomainInterfaceSource{User: &libvirtxml.DomainInterfaceSourceUser{}}
	if n.Bridge != "" {
		src = &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: n.Bridge}}
	}
	return libvirtxml.DomainInterface{
		MAC:    &libvirtxml.DomainInterfaceMAC{Address: n.MAC},
		Source: src,
		Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		// No option ROM: a machine without a boot disk must not PXE-boot forever.
		ROM:   &libvirtxml.DomainROM{Enabled: "no"},
		Alias: &libvirtxml.DomainAlias{Name: nicAlias(n.Name)},
	}
}
