package charts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/ironfed/ironfed/test/framework"
)

const metricsCertDir = "/etc/ironfed/metrics-tls"

// metricsValues are the release's metrics.secure (default true) and metrics.certSecret.
func metricsValues(r release) (secure bool, certSecret string) {
	secure = true
	for _, s := range r.set {
		switch k, v, _ := strings.Cut(s, "="); k {
		case "metrics.secure":
			secure = v == "true"
		case "metrics.certSecret":
			certSecret = v
		}
	}
	return secure, certSecret
}

// TestMetricsSecurity checks the rendered metrics.secure wiring of every release: with it, every
// container serving /metrics, brokers included (they review with the pod's cluster, not the
// downstream one), passes --metrics-secure (and --metrics-cert-dir with the mounted
// metrics.certSecret) and declares its metrics port; the pod's ServiceAccount is bound to a
// ClusterRole that may create tokenreviews and subjectaccessreviews; the release renders the
// metrics-reader ClusterRole (get /metrics). Without it nothing of that is rendered and /metrics
// listens on the pod IP as before. TestFlags proves the binaries accept the flags,
// TestServerDryRun that a real apiserver grants what the rules say.
func TestMetricsSecurity(t *testing.T) {
	h := framework.NewHelm(t)
	for _, r := range releases() {
		secure, certSecret := metricsValues(r)
		m := render(t, h, r, false)
		objs := decodeAll(t, m)
		reviewers := reviewerServiceAccounts(t, objs)
		for _, w := range workloads(t, m) {
			for _, c := range w.spec.Containers {
				bind := flagValue(c.Args, "--metrics-bind-address")
				switch {
				case secure:
					if !hasFlag(c.Args, "--metrics-secure") {
						t.Errorf("%s/%s: no --metrics-secure with metrics.secure: %v", r.name, c.Name, c.Args)
					}
					checkMetricsPort(t, r.name, c, bind)
					if !reviewers[w.spec.ServiceAccountName] {
						t.Errorf("%s/%s: ServiceAccount %s may not create tokenreviews and subjectaccessreviews (%s serves /metrics with --metrics-secure)", r.name, w.name, w.spec.ServiceAccountName, c.Name)
					}
					checkCertDir(t, r.name, w.spec, c, certSecret)
				default:
					if hasFlag(c.Args, "--metrics-secure") || hasFlag(c.Args, "--metrics-cert-dir") || strings.HasPrefix(bind, "127.0.0.1:") {
						t.Errorf("%s/%s: metrics.secure=false renders %v", r.name, c.Name, c.Args)
					}
				}
			}
		}
		var readers []string
		for _, o := range objs {
			if o.kind != "ClusterRole" {
				continue
			}
			var cr rbacv1.ClusterRole
			o.into(t, &cr)
			for _, rule := range cr.Rules {
				if slices.Contains(rule.NonResourceURLs, "/metrics") && slices.Contains(rule.Verbs, "get") {
					readers = append(readers, cr.Name)
				}
			}
		}
		want := []string(nil)
		if secure {
			want = []string{"ironfed:metrics-reader:" + r.namespace + ":" + fullname(r)}
		}
		if !slices.Equal(readers, want) {
			t.Errorf("%s: ClusterRoles granting get /metrics %v, want %v", r.name, readers, want)
		}
		if !secure && len(reviewers) > 0 && !slices.Contains(r.set, "console.enabled=true") {
			t.Errorf("%s: metrics.secure=false, yet %v may create tokenreviews/subjectaccessreviews", r.name, reviewers)
		}
	}
}

// checkMetricsPort: a protected /metrics listens on the pod IP and declares its port.
func checkMetricsPort(t *testing.T, rel string, c corev1.Container, bind string) {
	t.Helper()
	host, port, err := net.SplitHostPort(bind)
	if err != nil || host != "" {
		t.Errorf("%s/%s: --metrics-bind-address=%q, want :<port> (the pod IP)", rel, c.Name, bind)
		return
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return strconv.Itoa(int(p.ContainerPort)) == port }) {
		t.Errorf("%s/%s: /metrics on %s, but no container port %s declared", rel, c.Name, bind, port)
	}
}

// checkCertDir: with metrics.certSecret the container reads its certificate from a mount of that
// Secret; without, it makes a self-signed one (no flag, no mount).
func checkCertDir(t *testing.T, rel string, spec corev1.PodSpec, c corev1.Container, certSecret string) {
	t.Helper()
	dir := flagValue(c.Args, "--metrics-cert-dir")
	if certSecret == "" {
		if dir != "" {
			t.Errorf("%s/%s: --metrics-cert-dir=%s without metrics.certSecret", rel, c.Name, dir)
		}
		return
	}
	if dir != metricsCertDir {
		t.Errorf("%s/%s: --metrics-cert-dir=%q, want %s", rel, c.Name, dir, metricsCertDir)
		return
	}
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir })
	if i < 0 {
		t.Errorf("%s/%s: nothing mounted at %s", rel, c.Name, dir)
		return
	}
	j := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })
	if j < 0 || spec.Volumes[j].Secret == nil || spec.Volumes[j].Secret.SecretName != certSecret {
		t.Errorf("%s/%s: %s is not the Secret %s", rel, c.Name, dir, certSecret)
	}
}

// reviewerServiceAccounts: the ServiceAccounts that rendered ClusterRoleBindings grant create on
// tokenreviews and subjectaccessreviews.
func reviewerServiceAccounts(t *testing.T, objs []object) map[string]bool {
	t.Helper()
	roles := map[string][]rbacv1.PolicyRule{}
	for _, o := range objs {
		if o.kind == "ClusterRole" {
			var cr rbacv1.ClusterRole
			o.into(t, &cr)
			roles[cr.Name] = cr.Rules
		}
	}
	grants := func(rules []rbacv1.PolicyRule, group, resource string) bool {
		return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, "create")
		})
	}
	out := map[string]bool{}
	for _, o := range objs {
		if o.kind != "ClusterRoleBinding" {
			continue
		}
		var b rbacv1.ClusterRoleBinding
		o.into(t, &b)
		rules := roles[b.RoleRef.Name]
		if !grants(rules, "authentication.k8s.io", "tokenreviews") || !grants(rules, "authorization.k8s.io", "subjectaccessreviews") {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind {
				out[s.Name] = true
			}
		}
	}
	return out
}

// fullname is hack/charts/_helpers.tpl's ironfed.fullname.
func fullname(r release) string {
	if strings.Contains(r.name, r.chart) {
		return r.name
	}
	return r.name + "-" + r.chart
}

func flagValue(args []string, flag string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// object is one rendered manifest.
type object struct {
	kind, name string
	raw        json.RawMessage
}

func (o object) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(o.raw, v); err != nil {
		t.Fatalf("%s %s: %v", o.kind, o.name, err)
	}
}

func decodeAll(t *testing.T, manifests []byte) []object {
	t.Helper()
	var out []object
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Kind != "" {
			out = append(out, object{meta.Kind, meta.Metadata.Name, raw})
		}
	}
}

// checkMetricsGrants applies the RBAC of the secure releases for real and asks the apiserver
// (kubectl auth can-i, a SubjectAccessReview) whether each ServiceAccount that runs a container
// with --metrics-secure may create tokenreviews and subjectaccessreviews, and whether a scraper
// bound to the release's metrics-reader ClusterRole may get /metrics while one that is not may not.
func checkMetricsGrants(t *testing.T, h *framework.Helm, kubectl func([]byte, ...string) ([]byte, error)) {
	for _, r := range releases() {
		secure, _ := metricsValues(r)
		if !secure {
			continue
		}
		m := render(t, h, r, false)
		var rbac []json.RawMessage
		for _, o := range decodeAll(t, m) {
			switch o.kind {
			case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount":
				rbac = append(rbac, o.raw)
			}
		}
		list, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": rbac})
		if out, err := kubectl(list, "apply", "-f", "-"); err != nil {
			t.Fatalf("%s: apply RBAC: %v\n%s", r.name, err, out)
		}
		// The last line is the answer (a warning may precede it); the authorizer's RBAC cache takes
		// a moment after the apply, so a "no" is asked again for a few seconds.
		can := func(as string, args ...string) bool {
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				out, _ := kubectl(nil, append([]string{"auth", "can-i", "--as", as}, args...)...)
				if lastLines(out, 1) == "yes" {
					return true
				}
				if time.Now().After(deadline) {
					return false
				}
			}
		}
		for _, w := range workloads(t, m) {
			if !slices.ContainsFunc(w.spec.Containers, func(c corev1.Container) bool { return hasFlag(c.Args, "--metrics-secure") }) {
				continue
			}
			sa := "system:serviceaccount:" + r.namespace + ":" + w.spec.ServiceAccountName
			for _, res := range []string{"tokenreviews.authentication.k8s.io", "subjectaccessreviews.authorization.k8s.io"} {
				if !can(sa, "create", res) {
					t.Errorf("%s: the apiserver does not let %s (%s) create %s", r.name, sa, w.name, res)
				}
			}
		}
		scraper := "system:serviceaccount:monitoring:" + r.name + "-scraper"
		binding := "scrape-" + r.name
		if out, err := kubectl(nil, "create", "clusterrolebinding", binding, "--clusterrole=ironfed:metrics-reader:"+r.namespace+":"+fullname(r),
			"--serviceaccount=monitoring:"+r.name+"-scraper"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !can(scraper, "get", "/metrics") {
			t.Errorf("%s: a scraper bound to the metrics-reader ClusterRole may not get /metrics", r.name)
		}
		// Asked once: the cache holds this release's bindings by now.
		if out, _ := kubectl(nil, "auth", "can-i", "--as", "system:serviceaccount:monitoring:stranger", "get", "/metrics"); lastLines(out, 1) != "no" {
			t.Errorf("%s: an unbound ServiceAccount may get /metrics", r.name)
		}
	}
}
