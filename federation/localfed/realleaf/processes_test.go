package realleaf

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/providers/ceph/localceph"
	"github.com/ironfed/ironfed/providers/libvirt/localdaemon"
	"github.com/ironfed/ironfed/test/framework"
)

// TestProviderArgsAreTheLeafChartsArgs: each provider process of a real leaf gets the command line
// its container in charts/ironfed-leaf gets, rendered by helm with HelmValues, flag by flag, except
// the per-installation flags (localfed.InstanceFlags) and the local-only ones (localfed.LocalFlags).
func TestProviderArgsAreTheLeafChartsArgs(t *testing.T) {
	h := framework.NewHelm(t)
	chart, err := filepath.Abs("../../../charts/ironfed-leaf")
	if err != nil {
		t.Fatal(err)
	}
	p := processPorts{metrics: "127.0.0.1:1", health: "127.0.0.1:2", exec: "127.0.0.1:3"}
	for _, tc := range []struct {
		typ, binary string
		// set are what a release must set besides HelmValues (required values, and optional ones
		// a local leaf uses, so that their flags render).
		set  []string
		args []string
	}{{
		typ: "libvirt", binary: "libvirt-provider",
		set:  []string{"provider.libvirt.insecureRegistries={127.0.0.1:5000}"},
		args: libvirtProviderArgs("/s/machine.sock", "/l/libvirt-sock", "/r", "/c/classes.yaml", []string{"127.0.0.1:5000"}, p),
	}, {
		typ: "ceph-volume", binary: "ceph-volume-provider",
		set: []string{"provider.cephVolume.monitors=127.0.0.1:6789", "provider.cephVolume.image.tag=t", "provider.cephVolume.keySecret=k",
			"provider.cephVolume.classes[0].name=fast", "provider.cephVolume.classes[0].tps=1"},
		args: cephVolumeProviderArgs("/s/volume.sock", "127.0.0.1:6789", "/c/key", "rbd", "/c/classes.yaml", p),
	}, {
		typ: "ceph-bucket", binary: "ceph-bucket-provider",
		set: []string{"provider.cephBucket.rgwEndpoint=http://127.0.0.1:7480", "provider.cephBucket.adminCredentialsSecret=s",
			"provider.cephBucket.classes[0].name=standard"},
		args: cephBucketProviderArgs("/s/bucket.sock", "http://127.0.0.1:7480", "/c/classes.yaml", p),
	}} {
		t.Run(tc.typ, func(t *testing.T) {
			containers := framework.ContainerArgs(t, h, chart, "r", localfed.ReleaseNamespace, append(HelmValues(tc.typ), tc.set...)...)
			want, ok := containers[tc.binary]
			if !ok {
				t.Fatalf("provider.type=%s renders no %s container (containers: %v)", tc.typ, tc.binary, containers)
			}
			for _, d := range framework.CompareArgs(want, tc.args, localfed.InstanceFlags, localfed.LocalFlags) {
				t.Error(d)
			}
		})
	}
}

// TestNextStepsOfProcessLeaves: with the providers as processes there is no in-process provider
// to ask; what ironfed up prints must not need one.
func TestNextStepsOfProcessLeaves(t *testing.T) {
	l := &Leaves{
		Machines: &MachineLeaf{Daemon: &localdaemon.Libvirtd{URI: "qemu+unix:///system?socket=/x/libvirt-sock"}, Classes: DefaultMachineClasses(),
			ImageRef: "127.0.0.1:5000/ironfed/guest:v", RootDir: "/state/libvirt/provider"},
		Storage: &StorageLeaf{Cluster: &localceph.Cluster{Pool: "rbd", MonAddrs: "127.0.0.1:6789", RGWEndpoint: "http://127.0.0.1:7480"},
			Classes: DefaultStorageClasses()},
	}
	var out strings.Builder
	l.PrintNextSteps(&out, "/state/leaves/vm.yaml", "")
	for _, want := range []string{"QEMU domain type auto (the libvirt-provider process logs its choice)", "tcg-small (1 vCPU, 128 MiB)",
		"/state/libvirt/provider/machines/*/console.log", "Ceph RBD pool rbd on mon 127.0.0.1:6789", "kubectl apply -f /state/leaves/vm.yaml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("next steps lack %q:\n%s", want, out.String())
		}
	}
	if m := l.Manifest(); !strings.Contains(m, "image: 127.0.0.1:5000/ironfed/guest:v") || !strings.Contains(m, "name: vm-0-data") {
		t.Errorf("manifest lacks the guest image or the Ceph volume:\n%s", m)
	}
}
