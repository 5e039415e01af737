package localcluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Binaries are the executables a cluster runs.
type Binaries struct {
	APIServer         string
	ControllerManager string
	Etcd              string
	Kubectl           string
}

// AssetsEnv names a directory holding kube-apiserver, kube-controller-manager, kubectl and etcd.
// `make cluster-binaries` prints such a directory; `make test` exports it.
const AssetsEnv = "IRONFED_ASSETS"

// FindBinaries locates the cluster binaries: $IRONFED_ASSETS, then $KUBEBUILDER_ASSETS, then the
// versioned cache that hack/cluster-binaries.sh fills (versions read from hack/versions.env of the
// repository containing the working directory).
func FindBinaries() (Binaries, error) {
	for _, env := range []string{AssetsEnv, "KUBEBUILDER_ASSETS"} {
		if dir := os.Getenv(env); dir != "" {
			b := binariesIn(dir)
			if err := b.check(); err != nil {
				return Binaries{}, fmt.Errorf("$%s=%s: %w", env, dir, err)
			}
			return b, nil
		}
	}
	dir, err := defaultAssetsDir()
	if err == nil {
		b := binariesIn(dir)
		if err = b.check(); err == nil {
			return b, nil
		}
	}
	return Binaries{}, fmt.Errorf("cluster binaries not found (%w); build them with `make cluster-binaries` or set $%s",
		err, AssetsEnv)
}

func binariesIn(dir string) Binaries {
	return Binaries{
		APIServer:         filepath.Join(dir, "kube-apiserver"),
		ControllerManager: filepath.Join(dir, "kube-controller-manager"),
		Etcd:              filepath.Join(dir, "etcd"),
		Kubectl:           filepath.Join(dir, "kubectl"),
	}
}

func (b Binaries) check() error {
	var missing []string
	for _, p := range []string{b.APIServer, b.ControllerManager, b.Etcd} {
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// defaultAssetsDir mirrors hack/cluster-binaries.sh's cache layout.
func defaultAssetsDir() (string, error) {
	versions, err := findVersionsFile()
	if err != nil {
		return "", err
	}
	v, err := readEnvFile(versions)
	if err != nil {
		return "", err
	}
	if v["KUBERNETES_VERSION"] == "" || v["ETCD_VERSION"] == "" {
		return "", fmt.Errorf("%s lacks KUBERNETES_VERSION or ETCD_VERSION", versions)
	}
	cache := os.Getenv("IRONFED_CACHE_DIR")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "ironfed")
	}
	return filepath.Join(cache, "assets", "k8s-"+v["KUBERNETES_VERSION"]+"_etcd-"+v["ETCD_VERSION"]), nil
}

func findVersionsFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "hack", "versions.env")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no hack/versions.env above the working directory")
		}
		dir = parent
	}
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return out, sc.Err()
}
