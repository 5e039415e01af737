package framework

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ironfed/ironfed/federation/api/crds"
	"github.com/ironfed/ironfed/test/nodecluster"
)

// ImagesEnv names the images.env that make images writes (IRONFED_IMAGE, IRONFED_IMAGE_TAR,
// IRONFED_PAUSE_IMAGE, IRONFED_PAUSE_TAR, ...); make test sets it (hack/make/nodes.mk).
const ImagesEnv = "IRONFED_IMAGES_ENV"

// Images reads the images.env of $IRONFED_IMAGES_ENV. Missing images fail the test.
func Images(t testing.TB) map[string]string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the images: run make test")
	}
	path := os.Getenv(ImagesEnv)
	if path == "" {
		t.Fatalf("$%s is not set; run make images (make test sets it)", ImagesEnv)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v; run make images", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			out[k] = v
		}
	}
	for _, k := range []string{"IRONFED_IMAGE_TAG", "IRONFED_IMAGE_TAR", "IRONFED_PAUSE_IMAGE", "IRONFED_PAUSE_TAR"} {
		if out[k] == "" {
			t.Fatalf("%s lacks %s: run make images", path, k)
		}
	}
	return out
}

// StartNodeClusters starts clusters with one real node each (test/nodecluster), the images of
// make images imported, and tears them down when the test ends, failing it if a mount is left.
// It needs root and make node-prereqs node-binaries images; a missing piece fails the test.
func StartNodeClusters(t testing.TB, names []string) []*nodecluster.Node {
	t.Helper()
	return StartNodeClustersWith(t, names, NodeExtras{})
}

// NodeExtras are what a test adds to StartNodeClusters.
type NodeExtras struct {
	// Images are further docker-archive tarballs imported into every node's containerd.
	Images []string
	// BridgeUp is nodecluster.Options.BridgeUp: the host bridge's address, before the nodes start.
	BridgeUp func(address string)
}

// StartNodeClustersWith is StartNodeClusters with extra images and the bridge hook.
func StartNodeClustersWith(t testing.TB, names []string, extra NodeExtras) []*nodecluster.Node {
	t.Helper()
	if testing.Short() {
		t.Skip("needs node clusters: run make test")
	}
	images := Images(t)
	all, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	// Short: containerd's socket path lives below it (108 bytes at most).
	dir, err := os.MkdirTemp("", "ifn")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	start := time.Now()
	set, err := nodecluster.Start(ctx, nodecluster.Options{
		Names: names, Dir: dir, CRDs: all,
		Images:     append([]string{images["IRONFED_PAUSE_TAR"], images["IRONFED_IMAGE_TAR"]}, extra.Images...),
		PauseImage: images["IRONFED_PAUSE_IMAGE"],
		BridgeUp:   extra.BridgeUp,
		Logf:       t.Logf,
	})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start node clusters %v: %v", names, err)
	}
	t.Logf("node clusters %v with their nodes Ready in %s (dir %s)", names, time.Since(start).Round(time.Millisecond), dir)
	t.Cleanup(func() {
		if t.Failed() {
			keepLogs(t, dir)
		}
		if err := set.Stop(); err != nil {
			t.Errorf("tear node clusters down: %v", err)
		}
		if left := nodecluster.MountsUnder(dir); len(left) > 0 {
			t.Errorf("mounts left after teardown: %v", left)
			return
		}
		if pids, _ := ProcessesMentioning(dir); len(pids) > 0 {
			t.Errorf("processes left after teardown: %v", pids)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	return set.Nodes
}

// keepLogs copies every log file under dir (control planes, containerd, kubelet, pods) to a
// directory that outlives the teardown, so a failure in CI can be read afterwards.
func keepLogs(t testing.TB, dir string) {
	keep, err := os.MkdirTemp("", "ironfed-nodes-failed-")
	if err != nil {
		t.Logf("keep logs: %v", err)
		return
	}
	n := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") || !d.Type().IsRegular() {
			return nil // a vanishing pod log or an unreadable entry must not stop the rest
		}
		rel, _ := filepath.Rel(dir, path)
		if copyFile(path, filepath.Join(keep, rel)) == nil {
			n++
		}
		return nil
	})
	t.Logf("kept %d log files of the node clusters in %s (walk: %v)", n, keep, err)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
