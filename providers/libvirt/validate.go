package libvirt

import (
	"crypto/sha256"
	"fmt"
	"net"
	"regexp"
	"strings"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/iri/runtimeid"
)

// MaxIgnitionBytes bounds a machine's ignition data (docs/iri.md).
const MaxIgnitionBytes = 1 << 20

// IDLength is the length of minted machine ids (iri/runtimeid).
const IDLength = runtimeid.Length

func newID() string           { return runtimeid.New() }
func validID(id string) bool  { return runtimeid.Valid(id) }
func checkID(id string) error { return runtimeid.Check("machine_id", id) }

// Volume attributes and secrets of IronCore's ceph driver.
const (
	cephDriver        = "ceph"
	cephMonitorsAttr  = "monitors"
	cephUserIDSecret  = "userID"
	cephUserKeySecret = "userKey"
	macAttr           = "mac"
	bridgeAttr        = "bridge"
)

var bridgeRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,15}$`)

var deviceRE = regexp.MustCompile(`^(od|vd)([a-z]{1,2})$`)

// targetOf maps an IRI device name (IronCore's "oda", "odb", ... or "vdb") to the guest's virtio disk.
func targetOf(device string) (string, error) {
	m := deviceRE.FindStringSubmatch(device)
	if m == nil {
		return "", runtimeerr.Invalidf("volume device %q is not valid: want od<letter> (e.g. oda, odb) or vd<letter>", device)
	}
	return "vd" + m[2], nil
}

func checkPower(p machinev1alpha1.Power) error {
	if _, ok := machinev1alpha1.Power_name[int32(p)]; !ok {
		return runtimeerr.Invalidf("power %d is not valid: want POWER_ON or POWER_OFF", int32(p))
	}
	return nil
}

func checkVolume(v *machinev1alpha1.Volume) error {
	if v == nil {
		return runtimeerr.Invalidf("volume is required")
	}
	if v.Name == "" {
		return runtimeerr.Invalidf("volume.name is required")
	}
	if _, err := targetOf(v.Device); err != nil {
		return err
	}
	ld, c := v.GetLocalDisk(), v.GetConnection()
	switch {
	case ld != nil && c != nil:
		return runtimeerr.Invalidf("volume %q has both local_disk and connection; set one", v.Name)
	case ld != nil:
		if ld.SizeBytes < 0 {
			return runtimeerr.Invalidf("volume %q: local_disk.size_bytes must not be negative", v.Name)
		}
		if ld.SizeBytes == 0 && ld.GetImage().GetImage() == "" {
			return runtimeerr.Invalidf("volume %q: local_disk needs size_bytes > 0 or an image", v.Name)
		}
	case c != nil:
		if c.Driver != cephDriver {
			return runtimeerr.Invalidf("volume %q: driver %q is not supported; this provider attaches %q volumes and local disks", v.Name, c.Driver, cephDriver)
		}
		if _, _, err := splitPoolImage(c.Handle); err != nil {
			return runtimeerr.Invalidf("volume %q: %v", v.Name, err)
		}
		if strings.TrimSpace(c.Attributes[cephMonitorsAttr]) == "" {
			return runtimeerr.Invalidf("volume %q: ceph volumes need the %q attribute (comma-separated host:port)", v.Name, cephMonitorsAttr)
		}
		if len(c.EncryptionData) > 0 {
			return runtimeerr.Errorf(runtimeerr.KindUnsupported, "volume %q: encrypted ceph volumes are not supported by this provider yet", v.Name)
		}
	default:
		return runtimeerr.Invalidf("volume %q needs local_disk or connection", v.Name)
	}
	return nil
}

func splitPoolImage(handle string) (string, string, error) {
	pool, img, ok := strings.Cut(handle, "/")
	if !ok || pool == "" || img == "" || strings.Contains(img, "/") {
		return "", "", fmt.Errorf("ceph handle %q is not pool/image", handle)
	}
	return pool, img, nil
}

func checkNIC(n *machinev1alpha1.NetworkInterface) error {
	if n == nil {
		return runtimeerr.Invalidf("network_interface is required")
	}
	if n.Name == "" {
		return runtimeerr.Invalidf("network_interface.name is required")
	}
	if b, ok := n.Attributes[bridgeAttr]; ok && !bridgeRE.MatchString(b) {
		return runtimeerr.Invalidf("network interface %q: attribute bridge %q is not a Linux interface name", n.Name, b)
	}
	if mac := n.Attributes[macAttr]; mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 || hw[0]&1 == 1 {
			return runtimeerr.Invalidf("network interface %q: attribute mac %q is not a unicast MAC address", n.Name, mac)
		}
	}
	return nil
}

// macOf is the NIC's MAC: the "mac" attribute if given, else derived from machine id and NIC name
// (QEMU's 52:54:00 prefix), so it is stable across restarts and redefinitions.
func macOf(machineID string, n *machinev1alpha1.NetworkInterface) string {
	if mac := n.Attributes[macAttr]; mac != "" {
		hw, _ := net.ParseMAC(mac)
		return hw.String()
	}
	h := sha256.Sum256([]byte(machineID + "/" + n.Name))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// serialOf is the disk serial the guest sees (/sys/block/vdX/serial): the volume name, cut to the
// 20 bytes virtio-blk carries.
func serialOf(volume string) string {
	if len(volume) > 20 {
		return volume[:20]
	}
	return volume
}

// validateSpec checks a machine spec as a whole.
func (p *Provider) validateSpec(spec *machinev1alpha1.MachineSpec) error {
	if spec.Class == "" {
		return runtimeerr.Invalidf("machine.spec.class is required; supported machine classes: %s", p.classNames())
	}
	if _, ok := p.class(spec.Class); !ok {
		return runtimeerr.Invalidf("machine class %q is not supported; supported machine classes: %s", spec.Class, p.classNames())
	}
	if n := len(spec.IgnitionData); n > MaxIgnitionBytes {
		return runtimeerr.Invalidf("machine.spec.ignition_data is %d bytes; at most %d bytes (1 MiB) are allowed", n, MaxIgnitionBytes)
	}
	if err := checkPower(spec.Power); err != nil {
		return err
	}
	names, devices := map[string]bool{}, map[string]bool{}
	images := 0
	for _, v := range spec.Volumes {
		if err := checkVolume(v); err != nil {
			return err
		}
		if names[v.Name] {
			return runtimeerr.Invalidf("machine.spec.volumes: name %q is used twice", v.Name)
		}
		if devices[v.Device] {
			return runtimeerr.Invalidf("machine.spec.volumes: device %q is used twice", v.Device)
		}
		names[v.Name], devices[v.Device] = true, true
		if v.GetLocalDisk().GetImage().GetImage() != "" {
			images++
		}
	}
	if images > 1 {
		return runtimeerr.Invalidf("machine.spec.volumes: at most one local disk may have an image (the boot image)")
	}
	names = map[string]bool{}
	for _, n := range spec.NetworkInterfaces {
		if err := checkNIC(n); err != nil {
			return err
		}
		if names[n.Name] {
			return runtimeerr.Invalidf("machine.spec.network_interfaces: name %q is used twice", n.Name)
		}
		names[n.Name] = true
	}
	return nil
}

func (p *Provider) class(name string) (MachineClass, bool) {
	for _, c := range p.cfg.Classes {
		if c.Name == name {
			return c, true
		}
	}
	return MachineClass{}, false
}

func (p *Provider) classNames() string {
	var names []string
	for _, c := range p.cfg.Classes {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}
