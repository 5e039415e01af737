// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/ironfed/ironfed/federation/localcluster"
)

// TestInformerConvergesThroughFaults: an informer of NewInformer ends up holding exactly what the
// apiserver holds after its apiserver was killed and its etcd stopped again and again, with objects
// created and deleted right after each restart (when a broker's deletes land in practice). A stale
// cache entry here is an object a broker reports forever (issue 18's stuck delete in TestChaos);
// a reflector made to relist sleeps its backoff first, up to a minute after many faults, and a
// scheduler then decided on a stale pool (TestChaos followed by TestLeafFailureShowsAtTheRoot).
func TestInformerConvergesThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver and etcd; runs without -short")
	}
	ctx := t.Context()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "faults", Dir: t.TempDir(), WithoutControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	cfg := *c.Config
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	const ns = metav1.NamespaceDefault
	inf := NewInformer(toolscache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "configmaps", ns, fields.Everything()),
		&corev1.ConfigMap{}, 0, toolscache.Indexers{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go inf.Run(stop)
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced")
	}

	// retry repeats a write until the apiserver takes it: it is restarting half of the time.
	retry := func(what string, f func() error) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			return f() == nil, nil
		})
		if err != nil {
			t.Fatalf("%s: the apiserver did not take it within a minute", what)
		}
	}
	live := map[string]bool{}
	next := 0
	churn := func(rng *rand.Rand) {
		for range 3 {
			name := fmt.Sprintf("cm-%03d", next)
			next++
			retry("create "+name, func() error {
				_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
				if apierrors.IsAlreadyExists(err) {
					return nil
				}
				return err
			})
			live[name] = true
		}
		for name := range live {
			if rng.IntN(2) == 0 {
				retry("delete "+name, func() error {
					err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{})
					if apierrors.IsNotFound(err) {
						return nil
					}
					return err
				})
				delete(live, name)
			}
		}
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	for i := range 6 {
		churn(rng)
		if i%2 == 0 {
			if err := c.APIServer.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := c.APIServer.Start(ctx); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := c.Etcd.Stop(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			if err := c.Etcd.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		churn(rng)
	}
	recovered := time.Now()
	churn(rng) // right after the last recovery, when a reflector in backoff would miss it
	want := make([]string, 0, len(live))
	for name := range live {
		want = append(want, name)
	}
	slices.Sort(want)
	var got []string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		got = got[:0]
		for _, k := range inf.GetStore().ListKeys() {
			if _, name, _ := toolscache.SplitMetaNamespaceKey(k); name != "kube-root-ca.crt" {
				got = append(got, name)
			}
		}
		slices.Sort(got)
		return slices.Equal(got, want), nil
	})
	relists := testutil.ToFloat64(reflectorRelists.WithLabelValues("ConfigMap"))
	t.Logf("converged %s after the last recovery; the reflector listed %.0f time(s); watches resumed %.0f times, resynced after 410 %.0f times",
		time.Since(recovered).Round(time.Millisecond), relists,
		testutil.ToFloat64(watchResumes.WithLabelValues("ConfigMap")), testutil.ToFloat64(watchResyncs.WithLabelValues("ConfigMap")))
	if err != nil {
		t.Fatalf("the informer does not converge on the apiserver's objects within 10 s of the last recovery:\n informer  %v\n apiserver %v", got, want)
	}
	// Every relist after the first one is a wait of the reflector's growing backoff (up to a
	// minute) with no watch: expired watches must heal without it.
	if relists != 1 {
		t.Errorf("the reflector listed %.0f times; want once (at start), every expired watch healed by a resync", relists)
	}
}
