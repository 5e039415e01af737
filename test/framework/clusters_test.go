package framework_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ironfed/ironfed/federation/localcluster"
	"github.com/ironfed/ironfed/test/framework"
)

// TestClustersAreIsolatedAndSurviveRestarts is the floor every other test stands on: three real
// control planes side by side, each with its own data, each able to lose a component and come back
// with its objects, and nothing left running afterwards.
func TestClustersAreIsolatedAndSurviveRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("needs real clusters: run make test")
	}
	ctx := t.Context()
	names := []string{"root", "region", "leaf"}
	var clusters []*localcluster.Cluster
	// A subtest owns the clusters so that its cleanup (teardown) has run when we check for leftovers.
	t.Run("lifecycle", func(t *testing.T) {
		clusters = framework.StartClusters(t, framework.ClustersInput{Names: names})
		clients := make([]*kubernetes.Clientset, len(clusters))
		for i, c := range clusters {
			clients[i] = kubernetes.NewForConfigOrDie(c.Config)
			if _, err := clients[i].CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "owned-by-" + c.Name},
				Data:       map[string]string{"cluster": c.Name},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create in %s: %v", c.Name, err)
			}
		}

		t.Run("objects are visible only in their cluster", func(t *testing.T) {
			for i, c := range clusters {
				for _, other := range names {
					_, err := clients[i].CoreV1().ConfigMaps("default").Get(ctx, "owned-by-"+other, metav1.GetOptions{})
					switch {
					case other == c.Name && err != nil:
						t.Errorf("%s: own object missing: %v", c.Name, err)
					case other != c.Name && !apierrors.IsNotFound(err):
						t.Errorf("%s: object of %s visible (err=%v)", c.Name, other, err)
					}
				}
			}
		})

		t.Run("a killed apiserver restarts with its objects", func(t *testing.T) {
			c, client := clusters[1], clients[1]
			oldPID := c.APIServer.PID()
			if err := c.APIServer.Kill(); err != nil {
				t.Fatal(err)
			}
			shortCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if _, err := client.CoreV1().ConfigMaps("default").Get(shortCtx, "owned-by-region", metav1.GetOptions{}); err == nil {
				t.Fatal("apiserver answered after it was killed")
			}
			if err := c.APIServer.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if c.APIServer.PID() == oldPID {
				t.Fatal("apiserver did not get a new process")
			}
			cm, err := client.CoreV1().ConfigMaps("default").Get(ctx, "owned-by-region", metav1.GetOptions{})
			if err != nil || cm.Data["cluster"] != "region" {
				t.Fatalf("object lost across apiserver restart: %v %v", cm, err)
			}
			// The other clusters were not disturbed.
			if _, err := clients[0].CoreV1().ConfigMaps("default").Get(ctx, "owned-by-root", metav1.GetOptions{}); err != nil {
				t.Fatalf("root disturbed: %v", err)
			}
		})

		t.Run("a stopped etcd restarts with its data", func(t *testing.T) {
			c, client := clusters[2], clients[2]
			if err := c.Etcd.Stop(); err != nil {
				t.Fatal(err)
			}
			shortCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if _, err := client.CoreV1().ConfigMaps("default").Create(shortCtx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "during-outage"},
			}, metav1.CreateOptions{}); err == nil {
				t.Fatal("write succeeded without etcd")
			}
			if err := c.Etcd.Start(ctx); err != nil {
				t.Fatal(err)
			}
			// The apiserver reconnects by itself; poll until it serves again.
			if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				cm, err := client.CoreV1().ConfigMaps("default").Get(ctx, "owned-by-leaf", metav1.GetOptions{})
				return err == nil && cm.Data["cluster"] == "leaf", nil
			}); err != nil {
				t.Fatalf("object not served after etcd restart: %v", err)
			}
		})

		t.Run("garbage collector cascades owner references", func(t *testing.T) {
			client := clients[0]
			owner, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "owner"},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "dependent", OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
				}}},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := client.CoreV1().ConfigMaps("default").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				_, err := client.CoreV1().ConfigMaps("default").Get(ctx, "dependent", metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			}); err != nil {
				t.Fatal("dependent not garbage-collected")
			}
		})

		t.Run("RBAC applies to non-admin users", func(t *testing.T) {
			cfg, _, err := clusters[0].UserConfig("nobody")
			if err != nil {
				t.Fatal(err)
			}
			_, err = kubernetes.NewForConfigOrDie(cfg).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
			if !apierrors.IsForbidden(err) {
				t.Fatalf("unprivileged list: want Forbidden, got %v", err)
			}
		})
	})

	if len(clusters) != len(names) {
		t.Fatal("clusters did not start")
	}
	assertNoProcessesLeft(t, clusters)
}

func assertNoProcessesLeft(t *testing.T, clusters []*localcluster.Cluster) {
	t.Helper()
	for _, c := range clusters {
		if pids := c.PIDs(); len(pids) != 0 {
			t.Errorf("cluster %s still reports running pids %v", c.Name, pids)
		}
		pids, err := framework.ProcessesMentioning(c.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) != 0 {
			t.Errorf("processes of cluster %s still running after teardown: %v", c.Name, pids)
		}
	}
}

const panicChildEnv = "IRONFED_TEST_PANIC_CHILD_DIR"

// TestNoProcessesLeftWhenTestPanics runs a child test binary that starts a cluster and panics
// without any cleanup, then checks the kernel took the cluster's processes down with it.
func TestNoProcessesLeftWhenTestPanics(t *testing.T) {
	if testing.Short() {
		t.Skip("needs real clusters: run make test")
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), panicChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child did not fail:\n%s", out)
	}
	if !strings.Contains(string(out), "deliberate panic with a running cluster") {
		t.Fatalf("child did not reach its panic:\n%s", out)
	}
	pidData, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		t.Fatalf("child wrote no pids: %v\n%s", err, out)
	}
	pids := strings.Fields(string(pidData))
	if len(pids) < 2 {
		t.Fatalf("child reported pids %v", pids)
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		left, err := framework.ProcessesMentioning(dir)
		return err == nil && len(left) == 0, nil
	}); err != nil {
		left, _ := framework.ProcessesMentioning(dir)
		t.Fatalf("processes %v of pids %v survived the panicking test binary", left, pids)
	}
}

// panickingChild is the child process of TestNoProcessesLeftWhenTestPanics: it starts a cluster,
// records its pids and panics from TestMain, outside the testing package, so no cleanup runs.
func panickingChild(dir string) {
	c, err := localcluster.Start(context.Background(), localcluster.Options{Name: "doomed", Dir: filepath.Join(dir, "doomed")})
	if err != nil {
		panic(err)
	}
	var pids []string
	for _, p := range c.PIDs() {
		pids = append(pids, strconv.Itoa(p))
	}
	if err := os.WriteFile(filepath.Join(dir, "pids"), []byte(strings.Join(pids, " ")), 0o644); err != nil {
		panic(err)
	}
	panic("deliberate panic with a running cluster")
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(panicChildEnv); dir != "" {
		panickingChild(dir)
	}
	os.Exit(m.Run())
}
