// Package charts_test holds the cheap gates of the Helm charts under charts/: helm lint, kubeconform
// against schemas generated offline from our CRDs, every container's flags parsed by the real
// binary, and a server-side dry run of the rendered manifests against a real kube-apiserver with
// the CRDs installed (helm install --dry-run=server validates nothing server-side).
package charts_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/test/framework"
)

const chartsDir = "../../charts"

// release is one way to install a chart; the variants cover the values' branches.
type release struct {
	chart, name, namespace string
	set                    []string
}

func releases() []release {
	const ns = "ironfed-system"
	broker := []string{"downstream.kubeconfigSecret=region-kubeconfig", "downstream.namespace=ironfed-root"}
	return []release{
		{"ironfed-control-plane", "control-plane", ns, nil},
		{"ironfed-control-plane", "cp-ha", ns, []string{"controllerManager.replicas=2", "poolLeases.createNamespace=false", "classes.machine=null", "image.pullPolicy=Never", "metrics.secure=false"}},
		{"ironfed-control-plane", "cp-metrics-cert", ns, []string{"metrics.certSecret=metrics-tls", "classes.machine=null", "classes.volume=null", "classes.bucket=null"}},
		{"ironfed-broker", "region", ns, broker},
		{"ironfed-broker", "region-plain", ns, append(broker, "leaderElection.enabled=false", "bucket.enabled=false",
			"machine.downstreamPoolSelector.zone=a", "volume.downstreamPoolName=leaf", "machine.poolLabels.tier=gold", "downstream.name=region", "metrics.secure=false")},
		{"ironfed-leaf", "leaf", ns, nil},
		{"ironfed-leaf", "leaf-tuned", ns, []string{"provider.memory.stateDelay=500ms", "provider.memory.config.stateDelay=1s", "volume.enabled=false", "leaderElection.enabled=true", "metrics.certSecret=metrics-tls"}},
		// Consoles (docs/console.md): the poollet's console server, the runtime's exec server.
		{"ironfed-broker", "region-console", ns, append(broker, "console.enabled=true", "console.tlsSecret=console-tls", "console.downstreamCASecret=leaf-console-ca", "metrics.certSecret=metrics-tls")},
		{"ironfed-leaf", "leaf-console", ns, []string{"console.enabled=true", "console.advertiseAddress=leaf.example", "console.port=10443"}},
		// Host leaves: libvirt as a DaemonSet (one provider + machinepoollet per node), buckets on RGW.
		{"ironfed-leaf", "leaf-libvirt", ns, []string{"provider.type=libvirt"}},
		{"ironfed-leaf", "leaf-libvirt-tuned", ns, []string{"provider.type=libvirt", "console.enabled=true", "provider.libvirt.domainType=kvm",
			"provider.libvirt.insecureRegistries={registry.local:5000,*}", "provider.libvirt.registryCredentialsSecret=registry-credentials",
			"provider.libvirt.cpuOvercommit=2.5", "provider.libvirt.reservedCPUs=1", "provider.libvirt.reservedMemory=2Gi", "provider.libvirt.priorityClassName=ironfed-leaf",
			"machine.poolName=libvirt-$(NODE_NAME)", "leaderElection.enabled=true", "nodeSelector.ironfed\\.dev/libvirt=true", "tolerations[0].operator=Exists",
			"metrics.certSecret=metrics-tls"}},
		{"ironfed-leaf", "leaf-rgw", ns, []string{"provider.type=ceph-bucket", "provider.cephBucket.rgwEndpoint=http://rgw.ceph:7480",
			"provider.cephBucket.adminCredentialsSecret=rgw-admin", "provider.cephBucket.bucketEndpoint=s3.example:443",
			"provider.cephBucket.classes[0].name=standard", "provider.cephBucket.classes[0].maxSizeBytes=1073741824", "provider.cephBucket.sweepInterval=0",
			"metrics.secure=false"}},
		// RBD volumes: the cgo provider in its own image.
		{"ironfed-leaf", "leaf-rbd", ns, []string{"provider.type=ceph-volume", `provider.cephVolume.monitors=10.0.0.1:6789\,10.0.0.2:6789`,
			"provider.cephVolume.image.tag=sha-0123456789ab"}},
		{"ironfed-leaf", "leaf-rbd-tuned", ns, []string{"provider.type=ceph-volume", "provider.cephVolume.monitors=ceph-mon:6789",
			"provider.cephVolume.image.tag=sha-0123456789ab", "provider.cephVolume.user=ironfed", "provider.cephVolume.keySecret=ceph-key",
			"provider.cephVolume.pool=volumes", "provider.cephVolume.clientUser=qemu", "provider.cephVolume.classes[0].name=fast",
			"provider.cephVolume.classes[0].tps=262144000", "provider.cephVolume.classes[0].iops=15000", "provider.cephVolume.imagePlainHTTP=true",
			"provider.cephVolume.sweepInterval=0", "leaderElection.enabled=true", "metrics.secure=false"}},
		// Broker identities declared in the downstream cluster (docs/join.md).
		joinsRelease,
	}
}

func render(t *testing.T, h *framework.Helm, r release, crds bool) []byte {
	t.Helper()
	out, err := h.Template(context.Background(), filepath.Join(chartsDir, r.chart), r.name, r.namespace, crds, r.set...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLint(t *testing.T) {
	h := framework.NewHelm(t)
	for _, r := range releases() {
		args := []string{"lint", "--strict", filepath.Join(chartsDir, r.chart), "--namespace", r.namespace}
		for _, s := range r.set {
			args = append(args, "--set", s)
		}
		if out, err := h.Run(context.Background(), args...); err != nil {
			t.Errorf("%s: %v", r.name, err)
		} else {
			t.Logf("%s: %s", r.name, bytes.TrimSpace(out))
		}
	}
}

func TestRequiredValues(t *testing.T) {
	h := framework.NewHelm(t)
	for _, c := range []struct {
		r    release
		want string
	}{
		{release{"ironfed-broker", "b", "x", nil}, "downstream.kubeconfigSecret is required"},
		{release{"ironfed-broker", "b", "x", []string{"downstream.kubeconfigSecret=s"}}, "downstream.namespace is required"},
		{release{"ironfed-control-plane", "c", "x", []string{"image.tag=latest"}}, "must be pinned"},
		{release{"ironfed-control-plane", "c", "x", []string{"controllerManager.replicas=2", "controllerManager.leaderElection.enabled=false"}}, "needs controllerManager.leaderElection.enabled"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=ceph-volume"}}, "provider.cephVolume.monitors is required"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=ceph-volume", "provider.cephVolume.monitors=m:6789"}}, "provider.cephVolume.image.tag must be set"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=ceph-volume", "provider.cephVolume.monitors=m:6789", "provider.cephVolume.image.tag=latest"}}, "must be pinned"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=xen"}}, "is unknown"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=libvirt", "machine.enabled=false"}}, "provider libvirt serves machine"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=libvirt", "provider.libvirt.rootDir=relative"}}, "absolute host path"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=ceph-bucket"}}, "rgwEndpoint is required"},
		{release{"ironfed-leaf", "l", "x", []string{"provider.type=ceph-bucket", "provider.cephBucket.rgwEndpoint=http://rgw"}}, "adminCredentialsSecret is required"},
		{release{"ironfed-control-plane", "c", "x", []string{"joins[0].name=Root", "joins[0].namespace=a"}}, "joins[0].name \"Root\" must be a DNS-1123 label"},
		{release{"ironfed-control-plane", "c", "x", []string{"joins[0].name=root"}}, "joins[0].namespace \"\" must be a DNS-1123 label"},
	} {
		_, err := h.Template(context.Background(), filepath.Join(chartsDir, c.r.chart), c.r.name, c.r.namespace, false, c.r.set...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: want an error containing %q, got %v", c.r.chart, c.r.set, c.want, err)
		}
	}
}

func TestKubeconform(t *testing.T) {
	h := framework.NewHelm(t)
	kc := framework.Tool(t, framework.KubeconformEnv, "run make test, or hack/chart-tools.sh kubeconform")
	all, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	schemas := t.TempDir()
	if err := framework.WriteCRDSchemas(schemas, all); err != nil {
		t.Fatal(err)
	}
	// Core kinds have no offline schema here: the server-side dry run (TestServerDryRun) checks them.
	args := []string{"-strict", "-summary", "-ignore-missing-schemas", "-schema-location", framework.SchemaLocation(schemas)}
	for _, r := range releases() {
		out, err := framework.RunCmd(context.Background(), render(t, h, r, true), kc, args...)
		if err != nil {
			t.Errorf("%s: %v", r.name, err)
		} else {
			t.Logf("%s: %s", r.name, bytes.TrimSpace(out))
		}
	}
	// The schemas really are used: a misspelt field of one of our kinds fails.
	bad := []byte("apiVersion: compute.ironcore.dev/v1alpha1\nkind: MachineClass\nmetadata: {name: x}\ncapabilties: {cpu: \"1\"}\n")
	if out, err := framework.RunCmd(context.Background(), bad, kc, args...); err == nil {
		t.Errorf("kubeconform accepted a MachineClass with a misspelt field:\n%s", out)
	}
}

// TestFlags runs every container command of every rendered workload with its arguments and a
// final --help: the binary parses (and type-checks) each flag before it reaches --help, so a flag
// that does not exist or a malformed value fails here instead of in a crash-looping pod.
func TestFlags(t *testing.T) {
	h := framework.NewHelm(t)
	bin := binaries(t)
	seen := map[string]bool{}
	for _, r := range releases() {
		for _, d := range workloads(t, render(t, h, r, false)) {
			for _, c := range d.spec.Containers {
				if len(c.Command) != 1 || !strings.HasPrefix(c.Command[0], "/usr/local/bin/") {
					t.Fatalf("%s/%s: command %v is not one binary of the image", d.name, c.Name, c.Command)
				}
				name := filepath.Base(c.Command[0])
				seen[name] = true
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				out, err := exec.CommandContext(ctx, filepath.Join(bin, name), append(c.Args, "--help")...).CombinedOutput()
				cancel()
				if err != nil {
					t.Errorf("%s, container %s: %s %s: %v\n%s", r.name, c.Name, name, strings.Join(c.Args, " "), err, lastLines(out, 5))
				}
			}
		}
	}
	for _, want := range []string{"ironfed-controller-manager", "machinepoollet", "volumepoollet", "bucketpoollet", "machinebroker", "volumebroker", "bucketbroker", "memory-provider", "libvirt-provider", "ceph-bucket-provider", "ceph-volume-provider"} {
		if !seen[want] {
			t.Errorf("no chart runs %s", want)
		}
	}
}

// TestServerDryRun applies every rendered release with kubectl apply --dry-run=server against a
// real kube-apiserver with our CRDs: admission, defaulting and the apiserver's own validation of
// core and custom kinds.
func TestServerDryRun(t *testing.T) {
	h := framework.NewHelm(t)
	cluster := framework.StartClusters(t, framework.ClustersInput{Names: []string{"charts"}, WithoutControllerManager: true})[0]
	bins, err := localcluster.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := func(stdin []byte, args ...string) ([]byte, error) {
		return framework.RunCmd(context.Background(), stdin, bins.Kubectl, append(args, "--kubeconfig", cluster.KubeconfigPath)...)
	}
	// Namespaced objects of a dry run need their namespaces to exist.
	if out, err := kubectl(nil, "create", "namespace", "ironfed-system"); err != nil {
		t.Fatal(err, string(out))
	}
	// tenant-a: a broker namespace of joinsRelease.
	for _, ns := range []string{"ironcore-machinepool-lease", "ironcore-volumepool-lease", "ironcore-bucketpool-lease", "tenant-a"} {
		if out, err := kubectl(nil, "create", "namespace", ns); err != nil {
			t.Fatal(err, string(out))
		}
	}
	for _, r := range releases() {
		if out, err := kubectl(render(t, h, r, false), "apply", "--dry-run=server", "-f", "-"); err != nil {
			t.Errorf("%s: %v", r.name, err)
		} else {
			t.Logf("%s:\n%s", r.name, bytes.TrimSpace(out))
		}
	}
	t.Run("metrics grants", func(t *testing.T) { checkMetricsGrants(t, h, kubectl) })
	t.Run("join policy enforced", func(t *testing.T) { checkJoinPolicyEnforced(t, h, kubectl, cluster.Config) })
	// The server really validates: a Deployment whose replicas is a string is refused.
	bad := release{"ironfed-control-plane", "bad", "ironfed-system", []string{"controllerManager.replicas=two"}}
	if out, err := kubectl(render(t, h, bad, false), "apply", "--dry-run=server", "-f", "-"); err == nil {
		t.Errorf("the apiserver accepted replicas: two:\n%s", out)
	}
}

// workload is the pod template of a rendered Deployment or DaemonSet.
type workload struct {
	name string
	spec corev1.PodSpec
}

// workloads returns the pod templates of the rendered Deployments and DaemonSets.
func workloads(t *testing.T, manifests []byte) []workload {
	t.Helper()
	var ws []workload
	for _, d := range deployments(t, manifests) {
		ws = append(ws, workload{d.Name, d.Spec.Template.Spec})
	}
	for _, o := range decodeAll(t, manifests) {
		if o.kind == "DaemonSet" {
			var d appsv1.DaemonSet
			o.into(t, &d)
			ws = append(ws, workload{d.Name, d.Spec.Template.Spec})
		}
	}
	return ws
}

func deployments(t *testing.T, manifests []byte) []appsv1.Deployment {
	t.Helper()
	var ds []appsv1.Deployment
	for _, o := range decodeAll(t, manifests) {
		if o.kind == "Deployment" {
			var d appsv1.Deployment
			o.into(t, &d)
			ds = append(ds, d)
		}
	}
	return ds
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// binaries builds the binaries the charts run, once per test binary, into a temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	built.once.Do(func() { built.dir, built.err = buildBinaries() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

func buildBinaries() (string, error) {
	dir, err := os.MkdirTemp("", "ironfed-chart-bins-")
	if err != nil {
		return "", err
	}
	args := []string{"build", "-o", dir + "/"}
	// ceph-volume-provider: the cgo build under make's GOFLAGS (-tags=ceph,pacific), the stub without
	// them; both parse the same flags.
	for _, b := range []string{"ironfed-controller-manager", "machinepoollet", "volumepoollet", "bucketpoollet", "machinebroker", "volumebroker", "bucketbroker", "memory-provider", "libvirt-provider", "ceph-bucket-provider", "ceph-volume-provider"} {
		args = append(args, "../../cmd/"+b)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return dir, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return dir, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
