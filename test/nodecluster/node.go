package nodecluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ironfed/ironfed/federation/localcluster"
)

func (n *Node) startKubelet(ctx context.Context) error {
	_, kubeconfig, err := n.Cluster.UserConfig("system:node:"+n.Name, "system:nodes")
	if err != nil {
		return err
	}
	cfg := filepath.Join(n.dir, "kubelet", "config.yaml")
	if err := writeFiles(map[string]string{cfg: n.kubeletConfig(n.Cluster.CAFile())}); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(n.Cluster.Config)
	if err != nil {
		return err
	}
	n.Kubelet = n.nsProcess("kubelet", n.bins.Kubelet, []string{
		"--config=" + cfg,
		"--kubeconfig=" + kubeconfig,
		"--root-dir=" + filepath.Join(n.dir, "kubelet", "root"),
		"--cert-dir=" + filepath.Join(n.dir, "kubelet", "pki"),
		"--hostname-override=" + n.Name,
		"--node-ip=" + n.IP,
		"--v=1",
	}, func(ctx context.Context) error { return nodeReady(ctx, client, n.Name) })
	return n.Kubelet.Start(ctx)
}

func nodeReady(ctx context.Context, client kubernetes.Interface, name string) error {
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("node %s Ready=%s: %s", name, c.Status, c.Message)
		}
	}
	return fmt.Errorf("node %s has no Ready condition yet", name)
}

func (n *Node) startKubeProxyAndScheduler(ctx context.Context) error {
	_, proxyKubeconfig, err := n.Cluster.UserConfig("system:kube-proxy")
	if err != nil {
		return err
	}
	_, schedKubeconfig, err := n.Cluster.UserConfig("system:kube-scheduler")
	if err != nil {
		return err
	}
	cfg := filepath.Join(n.dir, "kube-proxy", "config.yaml")
	if err := writeFiles(map[string]string{cfg: n.kubeProxyConfig(proxyKubeconfig)}); err != nil {
		return err
	}
	healthz := "http://" + n.IP + ":10256/healthz"
	n.KubeProxy = n.nsProcess("kube-proxy", n.bins.KubeProxy, []string{"--config=" + cfg, "--v=1"}, func(ctx context.Context) error {
		// Any answer: it is serving; it reports healthy only after its first sync.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, healthz, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	if err := n.KubeProxy.Start(ctx); err != nil {
		return err
	}
	n.Scheduler = n.nsProcess("kube-scheduler", n.bins.KubeScheduler, []string{
		"--kubeconfig=" + schedKubeconfig,
		"--authentication-kubeconfig=" + schedKubeconfig,
		"--authorization-kubeconfig=" + schedKubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1", // the netns's loopback: no clash between clusters
		"--v=1",
	}, func(context.Context) error { return nil })
	return n.Scheduler.Start(ctx)
}

// Bridge is the host bridge the nodes' netns hang off (its address is the apiservers').
func (s *Set) Bridge() string { return s.bridge }

// Stop tears every cluster down in parallel, then the bridge. It leaves no process, mount,
// netns, veth, bridge or cgroup of the set behind; what it could not remove is in the error.
func (s *Set) Stop() error {
	errs := make([]error, len(s.Nodes))
	var wg sync.WaitGroup
	for i, n := range s.Nodes {
		wg.Go(func() {
			t := time.Now()
			errs[i] = n.stop()
			s.logf("%s: torn down in %s", n.Name, time.Since(t).Round(time.Millisecond))
		})
	}
	wg.Wait()
	return errors.Join(append(errs, run("ip", "link", "del", s.bridge))...)
}

// stop: no new pods (controller-manager and scheduler first), every pod deleted while the kubelet
// runs (so it tears their sandboxes down: CNI DEL, unmounts), then the node's processes by pid in
// reverse order, leftover containers, mounts, the netns and the cgroups.
func (n *Node) stop() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if n.Cluster != nil && n.Cluster.ControllerManager != nil {
		add(n.Cluster.ControllerManager.Stop())
	}
	if n.Scheduler != nil {
		add(n.Scheduler.Stop())
	}
	// The pods' network namespaces (containerd makes them under /run/netns): the kubelet's
	// StopPodSandbox removes them; what it could not is removed at the end.
	var podNetns []string
	if n.Containerd != nil && n.Containerd.PID() != 0 {
		podNetns = n.podNetns(ctx)
	}
	if n.Kubelet != nil && n.Kubelet.PID() != 0 && n.Cluster.APIServer.PID() != 0 {
		add(n.drain(ctx, podNetns))
	}
	for _, c := range []*localcluster.Component{n.KubeProxy, n.Kubelet} {
		if c != nil {
			add(c.Stop())
		}
	}
	if n.Containerd != nil && n.Containerd.PID() != 0 {
		add(n.removeContainers(ctx))
		add(n.Containerd.Stop())
	}
	if n.Cluster != nil {
		add(n.Cluster.Stop())
	}
	add(unmountUnder(n.dir))
	for _, p := range podNetns {
		if _, err := os.Stat(p); err == nil {
			_ = run("umount", "-l", p)
			add(os.Remove(p))
		}
	}
	if err := run("ip", "netns", "del", n.netnsName); err != nil && !strings.Contains(err.Error(), "No such file") {
		add(err)
	}
	add(removeCgroupRoot(n.cgroupRoot))
	return errors.Join(errs...)
}

// drain deletes every pod and waits until containerd runs no task and the pods' network
// namespaces are gone (the sandbox's task stops before its network is torn down).
func (n *Node) drain(ctx context.Context, podNetns []string) error {
	client, err := kubernetes.NewForConfig(n.Cluster.Config)
	if err != nil {
		return err
	}
	zero := int64(0)
	nss, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, ns := range nss.Items {
		if err := client.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
			return err
		}
	}
	for {
		out, err := n.ctr(ctx, "tasks", "ls", "-q")
		if err == nil && strings.TrimSpace(out) == "" && !anyExists(podNetns) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: tasks still running after deleting every pod: %s", n.Name, strings.TrimSpace(out))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// removeContainers kills and removes what the kubelet left in containerd.
func (n *Node) removeContainers(ctx context.Context) error {
	var errs []error
	out, _ := n.ctr(ctx, "tasks", "ls", "-q")
	for _, id := range strings.Fields(out) {
		_, _ = n.ctr(ctx, "tasks", "kill", "-s", "SIGKILL", id)
	}
	for _, id := range strings.Fields(out) {
		for i := 0; i < 50; i++ {
			if _, err := n.ctr(ctx, "tasks", "rm", "-f", id); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	out, _ = n.ctr(ctx, "containers", "ls", "-q")
	for _, id := range strings.Fields(out) {
		if _, err := n.ctr(ctx, "containers", "rm", id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// podNetns lists the network namespace paths in the specs of containerd's containers.
func (n *Node) podNetns(ctx context.Context) []string {
	out, _ := n.ctr(ctx, "containers", "ls", "-q")
	seen := map[string]bool{}
	var paths []string
	for _, id := range strings.Fields(out) {
		info, err := n.ctr(ctx, "containers", "info", id)
		if err != nil {
			continue
		}
		var c struct {
			Spec struct {
				Linux struct {
					Namespaces []struct{ Type, Path string }
				}
			}
		}
		if json.Unmarshal([]byte(info), &c) != nil {
			continue
		}
		for _, ns := range c.Spec.Linux.Namespaces {
			if ns.Type == "network" && ns.Path != "" && !seen[ns.Path] {
				seen[ns.Path] = true
				paths = append(paths, ns.Path)
			}
		}
	}
	return paths
}

func anyExists(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
