package libvirt

import (
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// TestRenderCephDisk checks IronCore's ceph volume contract rendered as an RBD network disk: pool/image,
// every monitor, the user with a libvirt secret, the serial, the device as target, librbd timeouts.
func TestRenderCephDisk(t *testing.T) {
	d, err := renderDisk(diskSpec{Name: "data", Target: "vdb", Serial: "data", Ceph: &cephDisk{
		Pool: "rbd", Image: "vol-1", Monitors: []string{"10.0.0.1:6789", "10.0.0.2"}, User: "client1",
		SecretUUID: "3a0e3b4e-52c9-4b5c-8a43-7b8e0f1f2a3b", ConfigFile: "/var/lib/x/ceph.conf",
	}})
	if err != nil {
		t.Fatal(err)
	}
	x, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<disk type="network" device="disk">`,
		`<driver name="qemu" type="raw" cache="none" io="threads"></driver>`,
		`<source protocol="rbd" name="rbd/vol-1">`,
		`<host name="10.0.0.1" port="6789"></host>`,
		`<host name="10.0.0.2" port="6789"></host>`,
		`<config file="/var/lib/x/ceph.conf"></config>`,
		`<auth username="client1">`,
		`<secret type="ceph" uuid="3a0e3b4e-52c9-4b5c-8a43-7b8e0f1f2a3b"></secret>`,
		`<target dev="vdb" bus="virtio"></target>`,
		`<serial>data</serial>`,
		`<alias name="ua-vol-data"></alias>`,
	} {
		if !strings.Contains(x, want) {
			t.Errorf("ceph disk XML lacks %s:\n%s", want, x)
		}
	}
	if _, err := renderDisk(diskSpec{Name: "bad", Target: "vdb", Ceph: &cephDisk{Pool: "p", Image: "i", Monitors: []string{"h:notaport"}}}); err == nil {
		t.Error("a monitor with a bad port was rendered")
	}
}

// TestRenderDomain checks what a guest depends on: TCG with a small translation cache, direct kernel
// boot, fw_cfg ignition under IronCore's key, hot-plug ports, a logged pty console, NICs without ROM.
func TestRenderDomain(t *testing.T) {
	x, err := renderDomain(domainSpec{
		ID: "m1", Type: DomainTypeQEMU, VCPUs: 1, MemoryBytes: 128 << 20, Kernel: "/k", Initrd: "/i", Cmdline: "console=ttyS0",
		IgnitionFile: "/m/ignition", ConsoleLog: "/m/console.log", RootPorts: 4,
		Disks: []diskSpec{{Name: "root", Target: "vda", Serial: "root", File: "/m/disk-root.qcow2"}},
		NICs:  []nicSpec{{Name: "eth0", MAC: "52:54:00:00:00:01"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	if d.Type != "qemu" || d.Features.TCG == nil || d.Features.TCG.TBCache.Size != 32 {
		t.Errorf("domain type %q, tcg %+v: want qemu with a 32 MiB tb-cache", d.Type, d.Features.TCG)
	}
	if d.OS.Kernel != "/k" || d.OS.Initrd != "/i" || d.OS.Cmdline != "console=ttyS0" || d.OS.Type.Machine != "q35" {
		t.Errorf("os %+v: want q35 direct kernel boot", d.OS)
	}
	if len(d.SysInfo) != 1 || d.SysInfo[0].FWCfg.Entry[0].Name != IgnitionFWCfgKey || d.SysInfo[0].FWCfg.Entry[0].File != "/m/ignition" {
		t.Errorf("sysinfo %+v: want the ignition file under %s", d.SysInfo, IgnitionFWCfgKey)
	}
	ports := 0
	for _, c := range d.Devices.Controllers {
		if c.Model == "pcie-root-port" {
			ports++
		}
	}
	if ports != 4 {
		t.Errorf("%d pcie-root-ports, want 4", ports)
	}
	if s := d.Devices.Serials; len(s) != 1 || s[0].Source.Pty == nil || s[0].Log.File != "/m/console.log" {
		t.Errorf("serial %+v: want a pty logged to the console log", s)
	}
	if n := d.Devices.Interfaces; len(n) != 1 || n[0].Source.User == nil || n[0].MAC.Address != "52:54:00:00:00:01" || n[0].ROM.Enabled != "no" {
		t.Errorf("interfaces %+v: want one user-mode NIC with its MAC and no ROM", n)
	}
	if strings.Contains(x, "<boot ") {
		t.Error("a kernel boot must not name boot devices")
	}
}

func TestTargetOf(t *testing.T) {
	for in, want := range map[string]string{"oda": "vda", "odb": "vdb", "vdc": "vdc", "odaa": "vdaa"} {
		if got, err := targetOf(in); err != nil || got != want {
			t.Errorf("targetOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "sda", "od", "od1", "vdA"} {
		if _, err := targetOf(bad); err == nil {
			t.Errorf("targetOf(%q) accepted", bad)
		}
	}
}

// TestRenderBridgeNIC: a NIC with the bridge attribute is a tap on that host bridge.
func TestRenderBridgeNIC(t *testing.T) {
	n := renderNIC(nicSpec{Name: "l2", MAC: "52:54:00:00:00:02", Bridge: "br-test"})
	x, err := n.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<interface type="bridge">`, `<source bridge="br-test"></source>`, `<mac address="52:54:00:00:00:02"></mac>`, `<model type="virtio"></model>`} {
		if !strings.Contains(x, want) {
			t.Errorf("bridge NIC XML lacks %s:\n%s", want, x)
		}
	}
}
