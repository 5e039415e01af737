package charts_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/federation/join"
	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/test/framework"
)

// TestChartsRunAsRendered is the charts' behaviour without a kubelet: two clusters, "upper" and
// "leaf". The control plane chart is installed (helm install) into both, the leaf chart into the
// leaf and the broker chart (with a kubeconfig from join, as ironfed join makes it) into the upper
// cluster. Every
// container of the rendered Deployments then runs as a process with exactly the rendered command
// line (sockets and ports moved into a temporary directory and onto free loopback ports) and as its
// chart's ServiceAccount, so a missing RBAC rule or a wrong flag breaks the chain. A Machine with an
// ephemeral Volume and NetworkInterface, a Volume and a Bucket created upstream must reach
// Running/Available, deleting them must empty the leaf, and helm uninstall must leave nothing of the
// releases.
func TestChartsRunAsRendered(t *testing.T) {
	h := framework.NewHelm(t)
	bin := binaries(t)
	// The CRDs are given so that StartClusters installs no admission policies: the control-plane
	// chart installs those itself, and helm refuses to adopt objects it did not make.
	defs, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	clusters := framework.StartClusters(t, framework.ClustersInput{Names: []string{"upper", "leaf"}, CRDs: defs})
	upper, leaf := clusters[0], clusters[1]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const ns, joinNS = "ironfed-system", "ironfed-upper"

	run := &runner{t: t, bin: bin, h: h}
	for _, c := range clusters {
		run.kubectl(c, nil, "create", "namespace", ns)
		run.install(c, release{"ironfed-control-plane", "control-plane", ns, nil})
	}
	run.install(leaf, release{"ironfed-leaf", "leaf", ns, nil})

	// What ironfed join does, and the Secret the operator makes of its kubeconfig.
	res, err := join.Join(ctx, leaf.Config, join.Options{Name: "upper-broker", Namespace: joinNS})
	if err != nil {
		t.Fatal(err)
	}
	downstream := filepath.Join(t.TempDir(), "downstream.kubeconfig")
	if err := os.WriteFile(downstream, res.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	run.kubectl(upper, nil, "-n", ns, "create", "secret", "generic", "leaf-kubeconfig", "--from-file=kubeconfig="+downstream)
	brokerRelease := release{"ironfed-broker", "leaf", ns, []string{"downstream.kubeconfigSecret=leaf-kubeconfig", "downstream.namespace=" + joinNS}}
	run.install(upper, brokerRelease)

	for _, c := range []struct {
		cluster *localcluster.Cluster
		r       release
	}{
		{leaf, release{"ironfed-control-plane", "control-plane", ns, nil}},
		{leaf, release{"ironfed-leaf", "leaf", ns, nil}},
		{upper, release{"ironfed-control-plane", "control-plane", ns, nil}},
		{upper, brokerRelease},
	} {
		run.start(c.cluster, c.r, map[string]string{"/etc/ironfed/downstream/kubeconfig": downstream})
	}

	examples := "../../examples/federation.yaml"
	created := time.Now()
	run.kubectl(upper, nil, "apply", "-f", examples)
	for _, w := range []string{"machine/web-0=Running", "volume/data-0=Available", "bucket/assets=Available"} {
		obj, state, _ := strings.Cut(w, "=")
		run.kubectl(upper, nil, "-n", "default", "wait", obj, "--for=jsonpath={.status.state}="+state, "--timeout=3m")
	}
	t.Logf("Machine, Volume and Bucket Running/Available upstream %s after they were created", time.Since(created).Round(time.Millisecond))
	// The Machine's ephemeral Volume and NIC went down the chain with it.
	out := run.kubectl(leaf, nil, "-n", joinNS, "get", "machines,volumes,networkinterfaces,buckets", "-o", "name")
	for _, want := range []string{"machine.compute.ironcore.dev/", "volume.storage.ironcore.dev/", "networkinterface.networking.ironcore.dev/", "bucket.storage.ironcore.dev/"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in the leaf's %s:\n%s", want, joinNS, out)
		}
	}

	run.checkMetrics()

	deleted := time.Now()
	run.kubectl(upper, nil, "delete", "-f", examples, "--wait", "--timeout=3m")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := run.kubectl(leaf, nil, "-n", joinNS, "get", "machines,volumes,networkinterfaces,buckets", "-o", "name")
		if strings.TrimSpace(out) == "" {
			t.Logf("both levels empty %s after the deletion", time.Since(deleted).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leaf still holds objects 2 min after the upstream deletion:\n%s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	stopping := time.Now()
	run.stopAll()
	t.Logf("every container stopped in %s", time.Since(stopping).Round(time.Millisecond))
	run.checkLogs()

	for _, c := range []struct {
		cluster *localcluster.Cluster
		r       release
	}{
		{upper, brokerRelease},
		{upper, release{"ironfed-control-plane", "control-plane", ns, nil}},
		{leaf, release{"ironfed-leaf", "leaf", ns, nil}},
		{leaf, release{"ironfed-control-plane", "control-plane", ns, nil}},
	} {
		run.uninstall(c.cluster, c.r)
	}
}

// runner applies rendered charts and runs their containers as processes.
type runner struct {
	t     *testing.T
	bin   string
	h     *framework.Helm
	procs []*proc
}

// proc is one running container.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when it exited
	err  error
	// metrics is the address of its protected /metrics (--metrics-secure), else empty.
	metrics string
	cluster *localcluster.Cluster
	rel     release
}

func (r *runner) kubectl(c *localcluster.Cluster, stdin []byte, args ...string) string {
	r.t.Helper()
	bins, err := localcluster.FindBinaries()
	if err != nil {
		r.t.Fatal(err)
	}
	out, err := framework.RunCmd(context.Background(), stdin, bins.Kubectl, append(args, "--kubeconfig", c.KubeconfigPath)...)
	if err != nil {
		r.t.Fatalf("%v%s", err, r.exited())
	}
	return string(out)
}

// exited describes the containers that are no longer running, with the end of their logs.
func (r *runner) exited() string {
	var b strings.Builder
	for _, p := range r.procs {
		select {
		case <-p.done:
			data, _ := os.ReadFile(p.log)
			fmt.Fprintf(&b, "\n%s exited (%v):\n%s", filepath.Base(p.log), p.err, lastLines(data, 3))
		default:
		}
	}
	return b.String()
}

// install runs helm install (without --wait: no kubelet runs the pods here).
func (r *runner) install(c *localcluster.Cluster, rel release) {
	r.t.Helper()
	args := []string{"install", rel.name, filepath.Join(chartsDir, rel.chart), "--namespace", rel.namespace}
	for _, s := range rel.set {
		args = append(args, "--set", s)
	}
	if _, err := r.h.WithKubeconfig(c.KubeconfigPath).Run(context.Background(), args...); err != nil {
		r.t.Fatal(err)
	}
}

// uninstall runs helm uninstall and checks that the release left nothing: no object of the chart's
// kinds with its labels, no ClusterRole or binding of it, no class, and the lease namespace (when
// the release made it) gone. CRDs stay (Helm never deletes crds/), and so do the pools the poollets
// announced: they are the poollets' objects, not the chart's (ironfed forget removes them).
func (r *runner) uninstall(c *localcluster.Cluster, rel release) {
	r.t.Helper()
	h := r.h.WithKubeconfig(c.KubeconfigPath)
	start := time.Now()
	if _, err := h.Run(context.Background(), "uninstall", rel.name, "--namespace", rel.namespace, "--wait", "--timeout", "2m"); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("helm uninstall --wait %s in %s took %s", rel.name, c.Name, time.Since(start).Round(time.Millisecond))
	sel := "app.kubernetes.io/instance=" + rel.name + ",app.kubernetes.io/name=" + rel.chart
	kinds := "deployments,replicasets,serviceaccounts,configmaps,services,roles,rolebindings,clusterroles,clusterrolebindings,machineclasses,volumeclasses,bucketclasses,namespaces"
	if out := strings.TrimSpace(r.kubectl(c, nil, "get", kinds, "-A", "-l", sel, "-o", "name")); out != "" {
		r.t.Errorf("helm uninstall %s left in %s:\n%s", rel.name, c.Name, out)
	}
}

// listenFlag: a pod's listening address, on all its interfaces.
var listenFlag = regexp.MustCompile(`^--(metrics|health-probe)-bind-address=:\d+$`)

// start runs every container of the release's Deployments as the pod's ServiceAccount would,
// with paths in files rewritten (the pod's mounts) and /var/run moved to a directory per pod.
func (r *runner) start(c *localcluster.Cluster, rel release, files map[string]string) {
	r.t.Helper()
	for _, d := range deployments(r.t, render(r.t, r.h, rel, false)) {
		spec := d.Spec.Template.Spec
		run, err := os.MkdirTemp("", "ironfed-chart-run-")
		if err != nil {
			r.t.Fatal(err)
		}
		r.t.Cleanup(func() { os.RemoveAll(run) })
		user := "system:serviceaccount:" + d.Namespace + ":" + spec.ServiceAccountName
		_, kubeconfig, err := c.UserConfig(user, "system:serviceaccounts", "system:serviceaccounts:"+d.Namespace)
		if err != nil {
			r.t.Fatal(err)
		}
		// $KUBECONFIG is a colon-separated list, and the user's file name has colons: a copy.
		envKubeconfig := filepath.Join(run, "kubeconfig")
		if data, err := os.ReadFile(kubeconfig); err != nil {
			r.t.Fatal(err)
		} else if err := os.WriteFile(envKubeconfig, data, 0o600); err != nil {
			r.t.Fatal(err)
		}
		ports, err := localcluster.FreePorts(2 * len(spec.Containers))
		if err != nil {
			r.t.Fatal(err)
		}
		for i, ctr := range spec.Containers {
			args := rewrite(ctr, run, files, ports[2*i:])
			name := filepath.Base(ctr.Command[0])
			if name != "memory-provider" && !hasFlag(args, "--kubeconfig") {
				args = append(args, "--kubeconfig="+kubeconfig) // in-cluster config, as the ServiceAccount
			}
			if strings.HasSuffix(name, "broker") && hasFlag(args, "--metrics-secure") {
				// A broker's --kubeconfig is the downstream; it reviews /metrics callers with the
				// in-cluster config, which this flag stands for outside a pod.
				args = append(args, "--metrics-review-kubeconfig="+kubeconfig)
			}
			logPath := filepath.Join(r.t.TempDir(), c.Name+"-"+d.Name+"-"+ctr.Name+".log")
			logFile, err := os.Create(logPath)
			if err != nil {
				r.t.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(r.bin, name), args...)
			// What the in-cluster config is in a pod: the providers check /metrics callers with it.
			cmd.Env = append(os.Environ(), "KUBECONFIG="+envKubeconfig)
			cmd.Stdout, cmd.Stderr = logFile, logFile
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				r.t.Fatal(err)
			}
			logFile.Close()
			p := &proc{cmd: cmd, log: logPath, done: make(chan struct{}), cluster: c, rel: rel}
			if hasFlag(args, "--metrics-secure") {
				p.metrics = flagValue(args, "--metrics-bind-address")
			}
			go func() { p.err = cmd.Wait(); close(p.done) }()
			r.procs = append(r.procs, p)
			r.t.Cleanup(p.stop)
		}
	}
}

// rewrite maps the container's view (its mounts, its ports) onto this host.
func rewrite(ctr corev1.Container, run string, files map[string]string, ports []int) []string {
	next := 0
	args := make([]string, 0, len(ctr.Args))
	for _, a := range ctr.Args {
		if listenFlag.MatchString(a) {
			flag, _, _ := strings.Cut(a, "=")
			a = fmt.Sprintf("%s=127.0.0.1:%d", flag, ports[next])
			next++
		}
		for from, to := range files {
			a = strings.ReplaceAll(a, from, to)
		}
		a = strings.ReplaceAll(a, "/var/run", run)
		args = append(args, a)
	}
	return args
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// stop ends the process: SIGTERM, then SIGKILL after 20 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (r *runner) stopAll() {
	for i := len(r.procs) - 1; i >= 0; i-- {
		r.procs[i].stop()
	}
}

// checkLogs fails on any request the apiserver refused: a missing RBAC rule may only slow the chain
// down (retries), so the logs are the proof that the rules are complete.
func (r *runner) checkLogs() {
	for _, p := range r.procs {
		data, err := os.ReadFile(p.log)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "forbidden") || strings.Contains(line, "Forbidden") {
				r.t.Errorf("%s: %s", filepath.Base(p.log), line)
			}
		}
	}
}

// checkMetrics scrapes every protected /metrics (metrics.secure, the charts' default) with the token
// of a ServiceAccount bound to its release's metrics-reader ClusterRole (200) and without a token
// (401): each binary reviewed the scraper with the rights its chart gave its ServiceAccount.
func (r *runner) checkMetrics() {
	r.t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed: no metrics.certSecret here
	get := func(addr, token string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			r.t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	tokens := map[string]string{}
	scraped := 0
	for _, p := range r.procs {
		if p.metrics == "" {
			continue
		}
		key := p.cluster.Name + "/" + p.rel.name
		token, ok := tokens[key]
		if !ok {
			sa, ns := p.rel.name+"-scraper", p.rel.namespace
			r.kubectl(p.cluster, nil, "-n", ns, "create", "serviceaccount", sa)
			r.kubectl(p.cluster, nil, "create", "clusterrolebinding", "scrape-"+p.rel.name,
				"--clusterrole=ironfed:metrics-reader:"+ns+":"+fullname(p.rel), "--serviceaccount="+ns+":"+sa)
			token = strings.TrimSpace(r.kubectl(p.cluster, nil, "-n", ns, "create", "token", sa))
			tokens[key] = token
		}
		name := filepath.Base(p.log)
		// The binding reaches the apiserver's authorizer a moment later.
		var code int
		var body string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if code, body = get(p.metrics, token); code == http.StatusOK || time.Now().After(deadline) {
				break
			}
		}
		if code != http.StatusOK || !strings.Contains(body, "# HELP") {
			r.t.Errorf("%s: GET https://%s/metrics as the bound scraper: %d %s", name, p.metrics, code, lastLines([]byte(body), 3))
			continue
		}
		if code, body := get(p.metrics, ""); code != http.StatusUnauthorized {
			r.t.Errorf("%s: GET https://%s/metrics without a token: %d %s, want 401", name, p.metrics, code, lastLines([]byte(body), 3))
		}
		scraped++
	}
	r.t.Logf("%d protected /metrics endpoints answered the bound scraper and refused an anonymous caller", scraped)
	if scraped == 0 {
		r.t.Error("no container serves a protected /metrics: metrics.secure is the charts' default")
	}
}
