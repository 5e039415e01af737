// Package leafcharts_test runs the leaf chart's real providers as pods on a cluster with a real
// node: provider.type=libvirt against the host's libvirtd (a QEMU/TCG guest boots and shows its
// ignition and disk on its serial console), provider.type=ceph-bucket against a one-node Ceph's
// RGW (an object written with the Bucket's credentials is read back) and provider.type=ceph-volume
// (its own cgo image) against the same Ceph's monitor and OSD with a cephx key (the Volume's RBD
// image has the requested size, and goes with the Volume). All installed with helm install
// --wait, as an operator would.
package leafcharts_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ironfed/ironfed/providers/ceph/bucket"
	"github.com/ironfed/ironfed/test/consoletest"
	"github.com/ironfed/ironfed/test/framework"
)

const (
	chartsDir = "../../charts"
	ns        = "ironfed-system"
	// machineClass fits the test guest (TCG, 128 MiB).
	machineClass = "tcg-small"
	// guestWait bounds each console line: one TCG boot costs ~16 CPU-s, more on a loaded machine.
	guestWait = 4 * time.Minute
	// volumeBytes is the Volume's size, which its RBD image must have exactly.
	volumeBytes = 96 << 20
)

// TestLeafChartsOnANode installs the control plane and three leaf releases, libvirt (machines),
// ceph-bucket (buckets) and ceph-volume (volumes), on one node cluster and proves each from the
// far end.
func TestLeafChartsOnANode(t *testing.T) {
	h := framework.NewHelm(t)
	images := framework.Images(t)
	cvTar, cvImage := images["IRONFED_CEPH_VOLUME_IMAGE_TAR"], images["IRONFED_CEPH_VOLUME_IMAGE"]
	cvRepo, cvTag, _ := strings.Cut(cvImage, ":")
	if cvTar == "" || cvTag == "" {
		t.Fatalf("$%s names no IRONFED_CEPH_VOLUME_IMAGE_TAR / IRONFED_CEPH_VOLUME_IMAGE: run make images", framework.ImagesEnv)
	}
	begin := time.Now()

	// The host daemons start while the node cluster does; their cleanup is registered first, so it
	// runs after the node's teardown (which deletes the pods while the kubelet runs).
	dir, err := os.MkdirTemp("", "ilc")
	if err != nil {
		t.Fatal(err)
	}
	rootDir := filepath.Join(dir, "libvirt-root")
	var d *daemons
	var dErr error
	var started sync.WaitGroup
	bridge, giveUp := make(chan string, 1), make(chan struct{})
	started.Go(func() { d, dErr = startDaemons(context.Background(), dir, bridge, giveUp) })
	t.Cleanup(func() {
		close(giveUp)
		started.Wait()
		if d != nil {
			if err := d.stop(rootDir); err != nil {
				t.Errorf("stopping the leaf daemons: %v", err)
			}
			t.Logf("timing: Ceph stopped in %s", d.cephStoppedIn.Round(time.Millisecond))
		}
		if t.Failed() {
			t.Logf("daemon logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	// The ceph-volume image is imported into the node's containerd like the ironfed image.
	node := framework.StartNodeClustersWith(t, []string{"leaf"}, framework.NodeExtras{
		Images:   []string{cvTar},
		BridgeUp: func(addr string) { bridge <- addr },
	})[0]
	started.Wait()
	if dErr != nil {
		t.Fatal(dErr)
	}
	t.Logf("timing: node cluster and daemons (libvirtd, registry, Ceph on the bridge: %s alone, Ceph %s of it) up %s after the start",
		d.startedIn.Round(time.Millisecond), d.cephIn.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))

	// The pods reach the host at the node's bridge address: Ceph binds it, the registry is forwarded.
	registry := forward(t, hostOf(node.Cluster.Host()), d.registry.Host)
	rgw := strings.TrimPrefix(d.ceph.RGWEndpoint, "http://")
	kc := &kubectl{t: t, kubeconfig: node.Cluster.KubeconfigPath}

	ctx := t.Context()
	tag := images["IRONFED_IMAGE_TAG"]
	t0 := time.Now()
	install(t, ctx, h, kc, "control-plane", "ironfed-control-plane", fmt.Sprintf(`
image: {tag: %q, pullPolicy: Never}
classes:
  machine: [{name: %s, capabilities: {cpu: "1", memory: 128Mi}}]
`, tag, machineClass), "--create-namespace")
	t.Logf("timing: helm install --wait of the control plane: %s", time.Since(t0).Round(time.Millisecond))

	kc.run("-n", ns, "create", "secret", "generic", "rgw-admin",
		"--from-literal=accessKey="+d.ceph.AdminAccessKey, "--from-literal=secretKey="+d.ceph.AdminSecretKey)
	kc.run("-n", ns, "create", "secret", "generic", "ceph-key", "--from-literal=key="+d.ceph.AdminKey)
	t0 = time.Now()
	releases := []struct{ name, values string }{{"machines", fmt.Sprintf(`
image: {tag: %q, pullPolicy: Never}
provider:
  type: libvirt
  libvirt:
    socketDir: %q
    rootDir: %q
    domainType: qemu
    classes: [{name: %s, cpu: 1, memoryBytes: %d}]
    insecureRegistries: [%q]
`, tag, filepath.Dir(d.libvirtd.Socket), rootDir, machineClass, 128<<20, registry)}, {"buckets", fmt.Sprintf(`
image: {tag: %q, pullPolicy: Never}
provider:
  type: ceph-bucket
  cephBucket: {rgwEndpoint: %q, adminCredentialsSecret: rgw-admin}
`, tag, "http://"+rgw)}, {"volumes", fmt.Sprintf(`
image: {tag: %q, pullPolicy: Never}
provider:
  type: ceph-volume
  cephVolume:
    image: {repository: %q, tag: %q}
    monitors: %q
    keySecret: ceph-key
    pool: %q
`, tag, cvRepo, cvTag, d.ceph.MonAddrs, d.ceph.Pool)}}
	var wg sync.WaitGroup
	errs := make([]error, len(releases))
	took := make([]time.Duration, len(releases))
	for i, r := range releases {
		wg.Go(func() {
			t0 := time.Now()
			errs[i] = tryInstall(ctx, h, kc, r.name, "ironfed-leaf", r.values)
			took[i] = time.Since(t0)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("timing: helm install --wait of the libvirt, ceph-bucket and ceph-volume leaf releases (at once): %s (%s, %s, %s each)",
		time.Since(t0).Round(time.Millisecond), took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), took[2].Round(time.Millisecond))

	token := randHex(8)
	ignition := `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/token","contents":{"source":"data:,` + token + `"}}]}}`
	created := time.Now()
	kc.apply(fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: vm-ignition, namespace: default}
data: {ignition.yaml: %s}
---
apiVersion: compute.ironcore.dev/v1alpha1
kind: Machine
metadata: {name: vm, namespace: default}
spec:
  machineClassRef: {name: %s}
  power: "On"
  ignitionRef: {name: vm-ignition}
  volumes:
  - {name: root, device: oda, localDisk: {image: %q}}
  - {name: data, device: odb, localDisk: {sizeLimit: 64Mi}}
---
apiVersion: storage.ironcore.dev/v1alpha1
kind: Bucket
metadata: {name: assets, namespace: default}
spec:
  bucketClassRef: {name: standard}
---
apiVersion: storage.ironcore.dev/v1alpha1
kind: Volume
metadata: {name: data, namespace: default}
spec:
  volumeClassRef: {name: fast}
  resources: {storage: %d}
`, base64.StdEncoding.EncodeToString([]byte(ignition)), machineClass, registry+"/"+d.imagePath, volumeBytes))

	// While the guest boots: the volume and the bucket.
	var rbdImage string
	t.Run("a volume of the ceph-volume pod is an RBD image of the requested size", func(t *testing.T) {
		rbdImage = checkVolume(t, kc, d.ceph, created)
	})

	t.Run("a bucket of the ceph-bucket pod holds an object written through its S3 endpoint", func(t *testing.T) {
		kc.run("-n", "default", "wait", "bucket/assets", "--for=jsonpath={.status.state}=Available", "--timeout=3m")
		t.Logf("timing: Bucket Available %s after kubectl apply", time.Since(created).Round(time.Millisecond))
		endpoint := kc.run("-n", "default", "get", "bucket/assets", "-o", "jsonpath={.status.access.endpoint}")
		secret := kc.run("-n", "default", "get", "bucket/assets", "-o", "jsonpath={.status.access.secretRef.name}")
		key := func(k string) string {
			v, err := base64.StdEncoding.DecodeString(kc.run("-n", "default", "get", "secret", secret, "-o", "jsonpath={.data."+k+"}"))
			if err != nil || len(v) == 0 {
				t.Fatalf("secret %s key %s: %q %v", secret, k, v, err)
			}
			return string(v)
		}
		name, host, _ := strings.Cut(endpoint, ".")
		if host != rgw {
			t.Fatalf("bucket endpoint %q: want <bucket>.%s (the RGW the chart was given)", endpoint, rgw)
		}
		s3c := bucket.S3Client("http://"+host, key(bucket.AccessKeyID), key(bucket.SecretAccessKey), &http.Client{Timeout: 30 * time.Second})
		body := []byte("written at the leaf " + token)
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(name), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(back, body) {
			t.Fatalf("read back %q, %v; wrote %q", back, err, body)
		}
		t.Logf("object written and read back through %s with the Bucket's credentials", endpoint)
	})

	t.Run("a machine of the libvirt pod boots a guest that shows its ignition and disk", func(t *testing.T) {
		kc.run("-n", "default", "wait", "machine/vm", "--for=jsonpath={.status.state}=Running", "--timeout=4m")
		t.Logf("timing: Machine Running %s after kubectl apply", time.Since(created).Round(time.Millisecond))
		logs, _ := filepath.Glob(filepath.Join(rootDir, "machines", "*", "console.log"))
		if len(logs) != 1 {
			t.Fatalf("console logs under %s: %v, want one guest", rootDir, logs)
		}
		console := &consoletest.SerialLog{T: t, Path: logs[0], Timeout: guestWait}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("console:\n%s", console.Read())
			}
		})
		console.Wait(`IRONFED-GUEST boot reached`, 1)
		t.Logf("timing: guest booted %s after kubectl apply", time.Since(created).Round(time.Millisecond))
		sum := sha256.Sum256([]byte(ignition))
		console.Wait(fmt.Sprintf("IRONFED-GUEST ignition sha256=%s bytes=%d", hex.EncodeToString(sum[:]), len(ignition)), 1)
		console.WaitDisk("data", 64<<20, 1)
		t.Logf("the guest read its ignition and saw its 64 MiB qcow2 disk (made by qemu-img in the pod) %s after kubectl apply",
			time.Since(created).Round(time.Millisecond))
	})

	// Deletion through the pods: the domain, its directory, the RGW user and the RBD image go.
	deleted := time.Now()
	kc.run("-n", "default", "delete", "machine/vm", "bucket/assets", "volume/data", "--wait=true", "--timeout=2m")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		left, _ := filepath.Glob(filepath.Join(rootDir, "machines", "*"))
		images, err := rbdImages(ctx, d.ceph)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 && (rbdImage == "" || !slices.Contains(images, rbdImage)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 min after the deletion: machine directories %v, RBD images %v (the volume's: %s)", left, images, rbdImage)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("timing: Machine, Bucket and Volume deleted, machine directory and RBD image gone %s after kubectl delete", time.Since(deleted).Round(time.Millisecond))
	t.Logf("timing: whole test body %s", time.Since(begin).Round(time.Millisecond))
}

// install runs helm install --wait of chart as name with the values document; failures describe
// the release's pods.
func install(t *testing.T, ctx context.Context, h *framework.Helm, kc *kubectl, name, chart, values string, extra ...string) {
	t.Helper()
	if err := tryInstall(ctx, h, kc, name, chart, values, extra...); err != nil {
		t.Fatal(err)
	}
}

func tryInstall(ctx context.Context, h *framework.Helm, kc *kubectl, name, chart, values string, extra ...string) error {
	f, err := os.CreateTemp("", "values-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(values); err != nil {
		return err
	}
	f.Close()
	args := append([]string{"install", name, filepath.Join(chartsDir, chart), "--namespace", ns, "--wait", "--timeout", "5m", "-f", f.Name()}, extra...)
	if _, err := h.WithKubeconfig(kc.kubeconfig).Run(ctx, args...); err != nil {
		return fmt.Errorf("%w\n%s", err, kc.describe(name))
	}
	return nil
}

type kubectl struct {
	t          *testing.T
	kubeconfig string
}

func (k *kubectl) try(args ...string) (string, error) {
	return framework.Kubectl(context.Background(), k.kubeconfig, nil, args...)
}

func (k *kubectl) run(args ...string) string {
	k.t.Helper()
	out, err := k.try(args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return out
}

func (k *kubectl) apply(doc string) {
	k.t.Helper()
	if _, err := framework.Kubectl(context.Background(), k.kubeconfig, []byte(doc), "apply", "-f", "-"); err != nil {
		k.t.Fatal(err)
	}
}

// describe is what an operator looks at when helm --wait gives up on a release.
func (k *kubectl) describe(release string) string {
	sel := "app.kubernetes.io/instance=" + release
	var b strings.Builder
	for _, args := range [][]string{
		{"-n", ns, "get", "pods", "-o", "wide", "-l", sel},
		{"-n", ns, "describe", "pods", "-l", sel},
		{"-n", ns, "logs", "-l", sel, "--all-containers", "--prefix", "--tail=40"},
		{"-n", ns, "logs", "-l", sel, "--all-containers", "--prefix", "--tail=40", "--previous"},
	} {
		out, err := k.try(append(args, "--request-timeout=20s")...)
		fmt.Fprintf(&b, "--- kubectl %s (%v)\n%s\n", strings.Join(args, " "), err, out)
	}
	return b.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
