package nodecluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// ServiceIP is the kubernetes Service's ClusterIP (the first of --service-cluster-ip-range).
const ServiceIP = "10.96.0.1"

// containerdConfig runs one containerd per node with its own root, state and socket (two kubelets
// on one containerd kill each other's pods). restrict_oom_score_adj is mandatory without
// CAP_SYS_RESOURCE: runc cannot lower oom_score_adj and every pod would fail to start. The pods'
// network namespaces live under the node's state directory, not the host's shared /run/netns, so a
// node's teardown and its tests see only its own.
func (n *Node) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.btrfs"]

[grpc]
  address = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, filepath.Join(n.dir, "containerd", "root"), filepath.Join(n.dir, "containerd", "state"), n.ContainerdSocket,
		n.pauseImage, n.cniBinDir, filepath.Join(n.dir, "cni", "net.d"))
}

// cniConfig is a bridge with masquerading (pods reach other clusters' apiservers as the node) and
// host-local addresses kept in the node's directory.
func (n *Node) cniConfig() string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "ironfed-node",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, n.PodCIDR, filepath.Join(n.dir, "cni", "ipam"))
}

// kubeletConfig: cgroup v1 with cgroupfs under the node's own cgroup root, x509 authentication of
// the apiserver, relaxed eviction thresholds (a shared disk is never "free enough" otherwise).
func (n *Node) kubeletConfig(caFile string) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /%s
failSwapOn: false
containerRuntimeEndpoint: unix://%s
podLogsDir: %s
address: %s
healthzBindAddress: %s
readOnlyPort: 0
authentication:
  x509: {clientCAFile: %s}
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
evictionHard: {memory.available: 100Mi, nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
`, n.cgroupRoot, n.ContainerdSocket, filepath.Join(n.dir, "pod-logs"), n.IP, n.IP, caFile)
}

// kubeProxyConfig: iptables mode in the node's netns; conntrack zeros so it sets no sysctl the
// netns cannot write.
func (n *Node) kubeProxyConfig(kubeconfig string) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %s}
mode: iptables
hostnameOverride: %s
bindAddress: %s
healthzBindAddress: %s:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: %s
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, kubeconfig, n.Name, n.IP, n.IP, n.PodCIDR)
}

func writeFiles(files map[string]string) error {
	for p, data := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			return err
		}
	}
	return nil
}
