package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ironfed/ironfed/federation/localcluster"
)

// Tool environment variables: paths of the chart tools hack/chart-tools.sh builds into the cache.
// `make test` sets them (hack/make/charts.mk).
const (
	HelmEnv        = "IRONFED_HELM"
	KubeconformEnv = "IRONFED_KUBECONFORM"
)

// Tool returns the executable named by env. A missing tool fails the test (make test builds it);
// only the fast tier (-short) skips.
func Tool(t testing.TB, env, hint string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: run make test", env)
	}
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("$%s is not set; %s", env, hint)
	}
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("$%s=%s is not an executable (%v); %s", env, p, err, hint)
	}
	return p
}

// Helm runs a helm binary with its state (plugins, repositories, cache) kept in a per-test
// directory, so tests never read or write the user's helm configuration.
type Helm struct {
	Bin string
	// Kubeconfig of the cluster for install, upgrade and uninstall; empty for offline commands.
	Kubeconfig string
	home       string
}

// NewHelm returns a Helm for the binary in $IRONFED_HELM.
func NewHelm(t testing.TB) *Helm {
	t.Helper()
	return &Helm{Bin: Tool(t, HelmEnv, "run make test, or hack/chart-tools.sh helm"), home: t.TempDir()}
}

// WithKubeconfig returns a copy of h that talks to the cluster of kubeconfig.
func (h *Helm) WithKubeconfig(kubeconfig string) *Helm {
	c := *h
	c.Kubeconfig = kubeconfig
	return &c
}

// Run runs helm with args and returns its stdout; a failure carries stderr.
func (h *Helm) Run(ctx context.Context, args ...string) ([]byte, error) {
	if h.Kubeconfig != "" {
		args = append(args, "--kubeconfig", h.Kubeconfig)
	}
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(h.home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(h.home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(h.home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// Template renders chart as release in namespace with the given --set values (and --include-crds
// when crds).
func (h *Helm) Template(ctx context.Context, chart, release, namespace string, crds bool, set ...string) ([]byte, error) {
	args := []string{"template", release, chart, "--namespace", namespace}
	if crds {
		args = append(args, "--include-crds")
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return h.Run(ctx, args...)
}

// Kubectl runs the cached kubectl against kubeconfig with stdin and returns its combined output.
func Kubectl(ctx context.Context, kubeconfig string, stdin []byte, args ...string) (string, error) {
	bins, err := localcluster.FindBinaries()
	if err != nil {
		return "", err
	}
	out, err := RunCmd(ctx, stdin, bins.Kubectl, append(args, "--kubeconfig", kubeconfig)...)
	return string(out), err
}

// RunCmd runs a command with stdin and returns its combined output; for kubectl and kubeconform.
func RunCmd(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out, nil
}
