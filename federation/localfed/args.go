package localfed

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Process mode runs each component with the command line its Helm chart renders (charts/, with
// the charts' default values), so that `make run` shows what a chart deploys. Only two kinds of
// flag differ, and TestProcessModeUsesChartFlags renders the charts with helm and fails on any
// other difference:
//   - InstanceFlags: where and as whom a component runs (names, sockets, ports, paths): a pod gets
//     them from its release and namespace, a local process from the topology; how /metrics is
//     served goes with where: a pod's is on its IP and protected (metrics.secure), a local
//     process's on loopback and plain;
//   - LocalFlags: flags the charts do not set, which a local federation needs (a kubeconfig
//     instead of the in-cluster config, second-scale timing, the consoles).

// InstanceFlags carry per-installation values (release and pool names, sockets, ports, paths).
var InstanceFlags = map[string]bool{
	"--address": true, "--namespace": true, "--kubeconfig": true, "--downstream-name": true,
	"--provider-id": true, "--pool-labels": true, "--machine-pool-name": true, "--volume-pool-name": true, "--bucket-pool-name": true,
	"--machine-runtime-endpoint": true, "--volume-runtime-endpoint": true, "--bucket-runtime-endpoint": true,
	"--leader-elect-resource-namespace": true, "--leader-elect-resource-name": true,
	"--metrics-bind-address": true, "--health-probe-bind-address": true,
	"--metrics-secure": true, "--metrics-cert-dir": true,
	"--socket-dir": true, "--runtimes": true, "--config": true,
	// The real leaf providers (realleaf): their sockets, daemons, directories and credentials.
	"--machine-socket": true, "--socket": true, "--libvirt-socket": true, "--root-dir": true, "--machine-classes-file": true,
	"--insecure-registries": true, "--ceph-monitors": true, "--ceph-key-file": true, "--pool": true, "--classes": true,
	"--rgw-endpoint": true,
}

// LocalFlags are set only by a local federation, with why.
var LocalFlags = map[string]string{
	"--kubeconfig":                       "a pod uses the in-cluster config; a local process the cluster's admin kubeconfig",
	"--pool-status-period":               "second-scale reactions (DefaultTiming)",
	"--heartbeat-interval":               "second-scale reactions (DefaultTiming)",
	"--relist-threshold":                 "second-scale reactions (DefaultTiming)",
	"--downstream-probe-interval":        "second-scale reactions (DefaultTiming)",
	"--downstream-unreachable-threshold": "second-scale reactions (DefaultTiming)",
	"--breaker-consecutive-failures":     "second-scale reactions (DefaultTiming)",
	"--breaker-open-timeout":             "second-scale reactions (DefaultTiming)",
	"--breaker-half-open-requests":       "second-scale reactions (DefaultTiming)",
	"--console-bind-address":             "consoles on every hop (docs/console.md); the charts serve them only with console.enabled (off by default)",
	"--console-tls-cert-file":            "the poollet's console certificate, issued by its cluster's CA",
	"--console-tls-private-key-file":     "the poollet's console certificate, issued by its cluster's CA",
	"--exec-bind-address":                "consoles on every hop (docs/console.md); the charts serve them only with console.enabled (off by default)",
}

// chartValues are the charts' default values that reach a command line (charts/*/values.yaml).
var chartValues = struct {
	logLevel                                       string
	leaseDuration, renewDeadline, retryPeriod      string
	socketDiscoveryTimeout                         string
	bucketPoolCapacity                             int
	poolMonitorGracePeriod, unschedulableRetry     string
	schedulerBindWorkers, kubeAPIQPS, kubeAPIBurst int
	schedulerBindEvents                            bool
	// Leader election per chart: the control plane and broker charts elect, the leaf chart does not.
	electControlPlane, electBroker, electLeaf bool
}{
	logLevel:      "info",
	leaseDuration: "15s", renewDeadline: "10s", retryPeriod: "2s",
	socketDiscoveryTimeout: "1m", bucketPoolCapacity: 1000,
	poolMonitorGracePeriod: "40s", unschedulableRetry: "1m",
	schedulerBindWorkers: 16, kubeAPIQPS: 500, kubeAPIBurst: 1000, schedulerBindEvents: true,
	electControlPlane: true, electBroker: true, electLeaf: false,
}

// ReleaseNamespace is where the charts would be installed in every cluster; the leader election
// Leases of the controller-manager and of the brokers' poollets live there.
const ReleaseNamespace = "ironfed-system"

// controllerManagerArgs is charts/ironfed-control-plane's controller-manager container.
func controllerManagerArgs(kubeconfig, metrics, health string) []string {
	v := chartValues
	return []string{
		fmt.Sprintf("--leader-elect=%t", v.electControlPlane),
		"--leader-elect-resource-namespace=" + ReleaseNamespace,
		"--leader-elect-resource-name=ironfed-control-plane",
		"--leader-elect-lease-duration=" + v.leaseDuration,
		"--leader-elect-renew-deadline=" + v.renewDeadline,
		"--leader-elect-retry-period=" + v.retryPeriod,
		"--metrics-bind-address=" + metrics,
		"--health-probe-bind-address=" + health,
		"--pool-monitor-grace-period=" + v.poolMonitorGracePeriod,
		fmt.Sprintf("--scheduler-bind-workers=%d", v.schedulerBindWorkers),
		fmt.Sprintf("--scheduler-bind-events=%t", v.schedulerBindEvents),
		"--unschedulable-retry-period=" + v.unschedulableRetry,
		fmt.Sprintf("--kube-api-qps=%d", v.kubeAPIQPS),
		fmt.Sprintf("--kube-api-burst=%d", v.kubeAPIBurst),
		"--zap-log-level=" + v.logLevel,
		"--kubeconfig=" + kubeconfig,
	}
}

// memoryProviderArgs is charts/ironfed-leaf's memory-provider container.
func memoryProviderArgs(socketDir string, kinds []string, config, metrics, health, exec string) []string {
	return []string{
		"--socket-dir=" + socketDir,
		"--runtimes=" + strings.Join(kinds, ","),
		"--config=" + config,
		"--metrics-bind-address=" + metrics,
		"--health-probe-bind-address=" + health,
		"--zap-log-level=" + chartValues.logLevel,
		"--exec-bind-address=" + exec,
	}
}

// poolletSpec is what differs between the poollets of hack/charts/_poollet.tpl.
type poolletSpec struct {
	kind, pool, providerID, endpoint string
	labels                           map[string]string
	elect                            bool
	kubeconfig, metrics, health      string
	timing                           Timing
	// console: bind address and serving certificate (machine poollets).
	consoleBind, consoleCert, consoleKey string
}

// poolletArgs is the poollet container of hack/charts/_poollet.tpl (broker and leaf charts).
func poolletArgs(s poolletSpec) []string {
	v := chartValues
	args := []string{
		"--" + s.kind + "-pool-name=" + s.pool,
		"--provider-id=" + s.providerID,
	}
	for _, k := range slices.Sorted(maps.Keys(s.labels)) {
		args = append(args, "--pool-labels="+k+"="+s.labels[k])
	}
	args = append(args,
		"--"+s.kind+"-runtime-endpoint="+s.endpoint,
		"--"+s.kind+"-runtime-socket-discovery-timeout="+v.socketDiscoveryTimeout,
	)
	if s.kind == "bucket" {
		args = append(args, fmt.Sprintf("--bucket-pool-capacity=%d", v.bucketPoolCapacity))
	}
	args = append(args,
		fmt.Sprintf("--leader-elect=%t", s.elect),
		"--leader-elect-resource-namespace="+ReleaseNamespace,
		"--leader-elect-lease-duration="+v.leaseDuration,
		"--leader-elect-renew-deadline="+v.renewDeadline,
		"--leader-elect-retry-period="+v.retryPeriod,
		"--metrics-bind-address="+s.metrics,
		"--health-probe-bind-address="+s.health,
		"--zap-log-level="+v.logLevel,
		// Local only.
		"--kubeconfig="+s.kubeconfig,
		"--pool-status-period="+s.timing.PoolStatusPeriod.String(),
		"--heartbeat-interval="+s.timing.HeartbeatInterval.String(),
		"--relist-threshold="+s.timing.RelistThreshold.String(),
	)
	if s.consoleBind != "" {
		args = append(args, "--console-bind-address="+s.consoleBind)
		if s.consoleCert != "" {
			args = append(args, "--console-tls-cert-file="+s.consoleCert, "--console-tls-private-key-file="+s.consoleKey)
		}
	}
	return args
}

// brokerSpec is what differs between the brokers of charts/ironfed-broker.
type brokerSpec struct {
	kind, kubeconfig, namespace, downstream, socket string
	metrics, health, exec                           string
	timing                                          Timing
}

// brokerArgs is the broker container of charts/ironfed-broker.
func brokerArgs(s brokerSpec) []string {
	v := chartValues
	t := s.timing
	args := []string{
		"--kubeconfig=" + s.kubeconfig,
		"--namespace=" + s.namespace,
		"--downstream-name=" + s.downstream,
		"--address=" + s.socket,
		fmt.Sprintf("--leader-elect=%t", v.electBroker),
		"--leader-elect-lease-duration=" + v.leaseDuration,
		"--leader-elect-renew-deadline=" + v.renewDeadline,
		"--leader-elect-retry-period=" + v.retryPeriod,
		"--metrics-bind-address=" + s.metrics,
		"--health-probe-bind-address=" + s.health,
		"--zap-log-level=" + v.logLevel,
		// Local only.
		"--downstream-probe-interval=" + t.DownstreamProbeInterval.String(),
		"--downstream-unreachable-threshold=" + t.DownstreamUnreachableThreshold.String(),
		fmt.Sprintf("--breaker-consecutive-failures=%d", t.Breaker.ConsecutiveFailures),
		"--breaker-open-timeout=" + t.Breaker.OpenTimeout.String(),
		fmt.Sprintf("--breaker-half-open-requests=%d", t.Breaker.HalfOpenRequests),
	}
	if s.exec != "" {
		args = append(args, "--exec-bind-address="+s.exec)
	}
	return args
}
