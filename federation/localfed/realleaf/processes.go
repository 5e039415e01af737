package realleaf

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/ironfed/ironfed/federation/localfed"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
	"github.com/ironfed/ironfed/providers/libvirt"
)

// With Options.BinDir the providers run as their own binaries, as an ironfed-leaf release's
// provider container runs them (provider.type libvirt, ceph-volume, ceph-bucket): with the
// chart's flags, the InstanceFlags set for this host and leafChartValues where a local leaf
// differs from the chart's defaults. TestProviderArgsAreTheLeafChartsArgs renders the chart with
// those values and fails on any other difference.

// leafChartValues are the ironfed-leaf values a local leaf sets: the chart's defaults, except
// where a small TCG host differs (noted). They are what an operator's values file would say.
var leafChartValues = struct {
	logLevel string
	// libvirt
	domainType                    string
	cpuOvercommit                 string // chart "1": idle TCG guests of the test image share 2 cores well
	reservedCPUs                  int
	reservedMemory                string
	shutdownTimeout, resyncPeriod string // chart 1m and 30s: a local leaf reacts within seconds
	pcieRootPorts                 int
	// ceph
	cephUser, imagePrefix, userPrefix string
	volumeSweep, bucketSweep          string
}{
	logLevel:   "info",
	domainType: libvirt.DomainTypeAuto, cpuOvercommit: "2", reservedCPUs: 0, reservedMemory: "1Gi",
	shutdownTimeout: "30s", resyncPeriod: "10s", pcieRootPorts: 16,
	cephUser: "admin", imagePrefix: "ironfed-", userPrefix: "ironfed-", volumeSweep: "10m", bucketSweep: "10m",
}

// HelmValues are leafChartValues as `helm --set` arguments of the leaf chart, for provider type typ.
func HelmValues(typ string) []string {
	v := leafChartValues
	set := []string{"provider.type=" + typ, "logLevel=" + v.logLevel}
	switch typ {
	case "libvirt":
		set = append(set, "provider.libvirt.domainType="+v.domainType, "provider.libvirt.cpuOvercommit="+v.cpuOvercommit,
			"provider.libvirt.reservedCPUs="+strconv.Itoa(v.reservedCPUs), "provider.libvirt.reservedMemory="+v.reservedMemory,
			"provider.libvirt.shutdownTimeout="+v.shutdownTimeout, "provider.libvirt.resyncPeriod="+v.resyncPeriod,
			"provider.libvirt.pcieRootPorts="+strconv.Itoa(v.pcieRootPorts))
	case "ceph-volume":
		set = append(set, "provider.cephVolume.user="+v.cephUser, "provider.cephVolume.imagePrefix="+v.imagePrefix,
			"provider.cephVolume.sweepInterval="+v.volumeSweep)
	case "ceph-bucket":
		set = append(set, "provider.cephBucket.userPrefix="+v.userPrefix, "provider.cephBucket.sweepInterval="+v.bucketSweep)
	}
	return set
}

// processPorts are a provider process's loopback addresses.
type processPorts struct{ metrics, health, exec string }

// libvirtProviderArgs is the leaf chart's libvirt-provider container.
func libvirtProviderArgs(socket, libvirtSocket, rootDir, classesFile string, insecureRegistries []string, p processPorts) []string {
	v := leafChartValues
	args := []string{
		"--machine-socket=" + socket,
		"--libvirt-socket=" + libvirtSocket,
		"--root-dir=" + rootDir,
		"--machine-classes-file=" + classesFile,
		"--domain-type=" + v.domainType,
		"--cpu-overcommit=" + v.cpuOvercommit,
		"--reserved-cpus=" + strconv.Itoa(v.reservedCPUs),
		"--reserved-memory=" + v.reservedMemory,
		"--shutdown-timeout=" + v.shutdownTimeout,
		"--resync-period=" + v.resyncPeriod,
		"--pcie-root-ports=" + strconv.Itoa(v.pcieRootPorts),
	}
	if len(insecureRegistries) > 0 {
		args = append(args, "--insecure-registries="+strings.Join(insecureRegistries, ","))
	}
	return append(args,
		"--metrics-bind-address="+p.metrics,
		"--health-probe-bind-address="+p.health,
		"--zap-log-level="+v.logLevel,
		"--exec-bind-address="+p.exec)
}

// cephVolumeProviderArgs is the leaf chart's ceph-volume-provider container.
func cephVolumeProviderArgs(socket, monitors, keyFile, pool, classesFile string, p processPorts) []string {
	v := leafChartValues
	args := []string{"--socket=" + socket, "--ceph-monitors=" + monitors, "--ceph-user=" + v.cephUser}
	if keyFile != "" {
		args = append(args, "--ceph-key-file="+keyFile)
	}
	return append(args,
		"--pool="+pool,
		"--classes="+classesFile,
		"--image-prefix="+v.imagePrefix,
		"--sweep-interval="+v.volumeSweep,
		"--metrics-bind-address="+p.metrics,
		"--health-probe-bind-address="+p.health,
		"--zap-log-level="+v.logLevel)
}

// cephBucketProviderArgs is the leaf chart's ceph-bucket-provider container (the admin keys go
// in its environment, as the chart's secretKeyRefs).
func cephBucketProviderArgs(socket, rgwEndpoint, classesFile string, p processPorts) []string {
	v := leafChartValues
	return []string{
		"--socket=" + socket,
		"--rgw-endpoint=" + rgwEndpoint,
		"--classes=" + classesFile,
		"--user-prefix=" + v.userPrefix,
		"--sweep-interval=" + v.bucketSweep,
		"--metrics-bind-address=" + p.metrics,
		"--health-probe-bind-address=" + p.health,
		"--zap-log-level=" + v.logLevel,
	}
}

// writeConfig writes v as YAML to dir/name (mode perm), as a chart's ConfigMap or Secret mount.
func writeConfig(dir, name string, v any, perm os.FileMode) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var data []byte
	switch b := v.(type) {
	case []byte:
		data = b
	default:
		var err error
		if data, err = yaml.Marshal(v); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, data, perm)
}

// libvirtProcess describes the libvirt provider process of the machine leaf m.
func (l *Leaves) libvirtProcess(dir string, m *MachineLeaf, libvirtSocket string, registries []string) (localfed.LeafProcess, error) {
	classes, err := writeConfig(filepath.Join(dir, "config"), "machine-classes.yaml", m.Classes, 0o644)
	if err != nil {
		return localfed.LeafProcess{}, err
	}
	socket := filepath.Join(l.sockDir, "machine.sock")
	return localfed.LeafProcess{
		Name: "libvirt-provider", Binary: "libvirt-provider", Sockets: map[string]string{"machine": socket},
		Args: func(metrics, health, exec string) []string {
			return libvirtProviderArgs(socket, libvirtSocket, m.RootDir, classes, registries, processPorts{metrics: metrics, health: health, exec: exec})
		},
	}, nil
}

// cephProcesses describes the volume and bucket provider processes of the storage leaf s.
func (l *Leaves) cephProcesses(dir string, s *StorageLeaf) ([]localfed.LeafProcess, error) {
	c := s.Cluster
	conf := filepath.Join(dir, "config")
	volumeClasses, err := writeConfig(conf, "volume-classes.yaml", objstore.Classes{VolumeClasses: s.Classes.VolumeClasses}, 0o644)
	if err != nil {
		return nil, err
	}
	bucketClasses, err := writeConfig(conf, "bucket-classes.yaml", objstore.Classes{BucketClasses: s.Classes.BucketClasses}, 0o644)
	if err != nil {
		return nil, err
	}
	keyFile := ""
	if c.AdminKey != "" { // a Secret's key, mounted: never a flag
		if keyFile, err = writeConfig(conf, "ceph-admin.key", []byte(c.AdminKey), 0o600); err != nil {
			return nil, err
		}
	}
	volumeSocket, bucketSocket := filepath.Join(l.sockDir, "volume.sock"), filepath.Join(l.sockDir, "bucket.sock")
	return []localfed.LeafProcess{{
		Name: "ceph-volume-provider", Binary: "ceph-volume-provider", Sockets: map[string]string{"volume": volumeSocket},
		Args: func(metrics, health, _ string) []string {
			return cephVolumeProviderArgs(volumeSocket, c.MonAddrs, keyFile, c.Pool, volumeClasses, processPorts{metrics: metrics, health: health})
		},
	}, {
		Name: "ceph-bucket-provider", Binary: "ceph-bucket-provider", Sockets: map[string]string{"bucket": bucketSocket},
		Args: func(metrics, health, _ string) []string {
			return cephBucketProviderArgs(bucketSocket, c.RGWEndpoint, bucketClasses, processPorts{metrics: metrics, health: health})
		},
		Env: []string{"RGW_ADMIN_ACCESS_KEY=" + c.AdminAccessKey, "RGW_ADMIN_SECRET_KEY=" + c.AdminSecretKey},
	}}, nil
}
