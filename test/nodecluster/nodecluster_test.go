package nodecluster_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/test/framework"
	"github.com/ironfed/ironfed/test/nodecluster"
)

// TestNodeClusterRunsPodsAndLeavesNothing starts two node clusters, runs a pod on each node
// (pause image, imported), reads its logs through the apiserver (kubelet reached by InternalIP)
// and checks that teardown leaves no process, mount, netns, bridge or cgroup.
func TestNodeClusterRunsPodsAndLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("needs node clusters: run make test")
	}
	images := framework.Images(t)
	dir, err := os.MkdirTemp("", "ifn")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s after teardown: %v", dir, err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	set, err := nodecluster.Start(ctx, nodecluster.Options{
		Names: []string{"a", "b"}, Dir: dir,
		Images: []string{images["IRONFED_PAUSE_TAR"]}, PauseImage: images["IRONFED_PAUSE_IMAGE"],
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("two node clusters Ready in %s", time.Since(start).Round(time.Millisecond))
	bins, err := localcluster.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := func(n *nodecluster.Node, args ...string) string {
		out, err := framework.RunCmd(ctx, nil, bins.Kubectl, append(args, "--kubeconfig", n.Cluster.KubeconfigPath)...)
		if err != nil {
			t.Error(err)
		}
		return string(out)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = set.Stop()
		}
	}()
	for _, n := range set.Nodes {
		t0 := time.Now()
		kubectl(n, "run", "sleeper", "--image="+images["IRONFED_PAUSE_IMAGE"], "--image-pull-policy=Never", "--restart=Never")
		kubectl(n, "wait", "pod/sleeper", "--for=condition=Ready", "--timeout=2m")
		t.Logf("%s: pod Ready %s after kubectl run", n.Name, time.Since(t0).Round(time.Millisecond))
		kubectl(n, "logs", "sleeper")
		ip := strings.TrimSpace(kubectl(n, "get", "pod/sleeper", "-o", "jsonpath={.status.podIP}"))
		if _, cidr, _ := net.ParseCIDR(n.PodCIDR); cidr == nil || !cidr.Contains(net.ParseIP(ip)) {
			t.Errorf("%s: pod IP %q not from %s", n.Name, ip, n.PodCIDR)
		}
		// Pod IPs are routed from the host and from the other nodes: a connection to a closed port
		// is refused by the pod (not timed out).
		if _, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "1"), 3*time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("host to pod %s of %s: want connection refused, got %v", ip, n.Name, err)
		}
		for _, from := range set.Nodes {
			if from != n {
				out, _ := exec.Command("nsenter", "--net="+from.NetNS, "timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/"+ip+"/1").CombinedOutput()
				if !strings.Contains(string(out), "refused") {
					t.Errorf("node %s to pod %s of %s: want connection refused, got %q", from.Name, ip, n.Name, out)
				}
			}
		}
	}
	// containerd keeps each node's pod netns under that node's state directory (none in /run/netns,
	// where other tests' pods live): one per pod while they run, none after teardown.
	podNetnsGlob := filepath.Join(dir, "*", "containerd", "state", "*", "netns", "cni-*")
	if running, _ := filepath.Glob(podNetnsGlob); len(running) != len(set.Nodes) {
		t.Errorf("pod netns under the nodes' state directories: %v, want one per node", running)
	}
	if t.Failed() {
		return
	}
	t0 := time.Now()
	stopped = true
	if err := set.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("teardown of both in %s", time.Since(t0).Round(time.Millisecond))
	if m := nodecluster.MountsUnder(dir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if pids, _ := framework.ProcessesMentioning(dir); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
	for _, n := range set.Nodes {
		if _, err := os.Stat(n.NetNS); err == nil {
			t.Errorf("netns %s left", n.NetNS)
		}
		if m, _ := filepath.Glob("/sys/fs/cgroup/*/" + filepath.Base(n.NetNS)); len(m) > 0 {
			t.Errorf("cgroups left: %v", m)
		}
	}
	if left, _ := filepath.Glob(podNetnsGlob); len(left) > 0 {
		t.Errorf("pod netns left: %v", left)
	}
	if err := exec.Command("ip", "link", "show", set.Bridge()).Run(); err == nil {
		t.Errorf("bridge %s left", set.Bridge())
	}
}
