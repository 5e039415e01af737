package realleaf

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Manifest is a Machine (booting the test guest with an ignition), and with the Ceph leaf a Volume
// it attaches, to create at the root of the federation.
func (l *Leaves) Manifest() string {
	var b strings.Builder
	b.WriteString(`# Created by ironfed up --leaf: apply at the root of the local federation. The Machine's ignition is
# the Secret's key ignition.yaml (IronCore's default key); the guest prints its sha256 on its console.
apiVersion: v1
kind: Secret
metadata:
  name: vm-0-ignition
  namespace: default
stringData:
  ignition.yaml: '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hello","contents":{"source":"data:,hello%20from%20the%20root"}}]}}'
`)
	if l.Storage != nil {
		fmt.Fprintf(&b, `---
apiVersion: storage.ironcore.dev/v1alpha1
kind: Volume
metadata:
  name: vm-0-data
  namespace: default
spec:
  volumeClassRef:
    name: %s
  resources:
    storage: 64Mi
`, l.Storage.Classes.VolumeClasses[0].Name)
	}
	if l.Machines == nil {
		return b.String()
	}
	fmt.Fprintf(&b, `---
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata:
  name: vm-0
  namespace: default
spec:
  machineClassRef:
    name: %s
  power: "On"
  ignitionRef:
    name: vm-0-ignition
  volumes:
  - name: root
    device: oda
    localDisk:
      image: %s
`, l.Machines.Classes[0].Name, l.Machines.ImageRef)
	if l.Storage != nil {
		b.WriteString(`  - name: data
    device: odb
    volumeRef:
      name: vm-0-data
`)
	}
	return b.String()
}

// PrintNextSteps tells a person how to boot a VM through the federation and read its console.
// manifest is where Manifest was written; kubectl the kubectl to print (default "kubectl").
func (l *Leaves) PrintNextSteps(w io.Writer, manifest, kubectl string) {
	if kubectl == "" {
		kubectl = "kubectl"
	}
	fmt.Fprintln(w, "\nReal leaves (see README.md, real-leaf mode):")
	if m := l.Machines; m != nil {
		classes := make([]string, len(m.Classes))
		for i, c := range m.Classes {
			classes[i] = fmt.Sprintf("%s (%d vCPU, %d MiB)", c.Name, c.CPU, c.MemoryBytes>>20)
		}
		fmt.Fprintf(w, "  machines  libvirt provider, libvirtd %s, QEMU domain type %s; classes %s\n", m.Daemon.URI, m.domainType(), strings.Join(classes, ", "))
		fmt.Fprintf(w, "            test guest image %s\n", m.ImageRef)
	}
	if s := l.Storage; s != nil {
		fmt.Fprintf(w, "  volumes   Ceph RBD pool %s on mon %s (conf %s)\n", s.Cluster.Pool, s.Cluster.MonAddrs, s.Cluster.ConfPath)
		fmt.Fprintf(w, "  buckets   Ceph RGW %s\n", s.Cluster.RGWEndpoint)
	}
	fmt.Fprintf(w, "\nBoot a VM from the root (with KUBECONFIG set as above):\n  %s apply -f %s\n", kubectl, manifest)
	if l.Machines != nil {
		fmt.Fprintf(w, "  %s get machine vm-0 -w              # Running once the leaf's QEMU runs it\n", kubectl)
		fmt.Fprintf(w, "  tail -f %s    # its serial console (TCG boot: ~30-60 s)\n", filepath.Join(l.Machines.RootDir, "machines", "*", "console.log"))
	}
	if l.Storage != nil {
		fmt.Fprintf(w, "  %s get volume vm-0-data -o jsonpath='{.status.access}'   # the RBD image's handle and monitors\n", kubectl)
		fmt.Fprintf(w, "  rbd -c %s ls %s                       # the image at the leaf\n", l.Storage.Cluster.ConfPath, l.Storage.Cluster.Pool)
	}
	fmt.Fprintf(w, "  %s delete -f %s               # the VM, its disks and the image go at every level\n", kubectl, manifest)
}
