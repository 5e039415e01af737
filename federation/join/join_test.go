package join_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/api"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
	"github.com/ironfed/ironfed/federation/join"
	"github.com/ironfed/ironfed/test/framework"
)

const (
	ns    = "broker-ns"
	other = "other-ns"
)

func newClient(t *testing.T, cfg *rest.Config) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := api.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// brokered are objects of every kind the broker writes, in namespace.
func brokered(namespace string) []client.Object {
	m := metav1.ObjectMeta{Name: "x", Namespace: namespace}
	ref := commonv1alpha1.LocalObjectReference{Name: "c"}
	return []client.Object{
		&computev1alpha1.Machine{ObjectMeta: m, Spec: computev1alpha1.MachineSpec{MachineClassRef: ref}},
		&storagev1alpha1.Volume{ObjectMeta: m},
		&storagev1alpha1.Bucket{ObjectMeta: m},
		&networkingv1alpha1.NetworkInterface{ObjectMeta: m, Spec: networkingv1alpha1.NetworkInterfaceSpec{NetworkRef: ref}},
		&corev1.Secret{ObjectMeta: m, Data: map[string][]byte{"k": []byte("v")}},
	}
}

func TestJoin(t *testing.T) {
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"down"}, WithoutControllerManager: true})[0]
	ctx := context.Background()
	admin := newClient(t, c.Config)
	must(t, admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}))
	must(t, admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: other}}))
	opts := join.Options{Name: "root-broker", Namespace: ns}

	start := time.Now()
	res, err := join.Join(ctx, c.Config, opts)
	must(t, err)
	t.Logf("joined in %s, token expires %s", time.Since(start).Round(time.Millisecond), res.ExpiresAt)
	if res.ServiceAccount != "system:serviceaccount:broker-ns:root-broker" || res.Namespace != ns {
		t.Errorf("result names %q in %q", res.ServiceAccount, res.Namespace)
	}
	if d := time.Until(res.ExpiresAt); d < 364*24*time.Hour {
		t.Errorf("token expires in %s, want about a year", d)
	}
	var nsObj corev1.Namespace
	must(t, admin.Get(ctx, client.ObjectKey{Name: ns}, &nsObj))
	if nsObj.Labels[join.ManagedByLabel] != "ironfed" || nsObj.Labels[join.BrokerLabel] != "root-broker" {
		t.Errorf("namespace labels %v", nsObj.Labels)
	}

	// The kubeconfig is what a broker is started with: use it.
	kcfg, err := clientcmd.RESTConfigFromKubeConfig(res.Kubeconfig)
	must(t, err)
	broker := newClient(t, kcfg)

	t.Run("writes its kinds in its namespace", func(t *testing.T) {
		for _, o := range brokered(ns) {
			must(t, broker.Create(ctx, o))
			must(t, broker.Patch(ctx, o, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`))))
			must(t, broker.Get(ctx, client.ObjectKeyFromObject(o), o))
			if v, ok := o.(*storagev1alpha1.Volume); ok {
				must(t, broker.Status().Patch(ctx, v, client.RawPatch(types.MergePatchType, []byte(`{"status":{"state":"Available"}}`))))
			}
			must(t, broker.Delete(ctx, o))
		}
		must(t, broker.List(ctx, &corev1.EventList{}, client.InNamespace(ns)))
	})
	t.Run("reads pools and classes", func(t *testing.T) {
		for _, l := range []client.ObjectList{
			&computev1alpha1.MachinePoolList{}, &computev1alpha1.MachineClassList{},
			&storagev1alpha1.VolumePoolList{}, &storagev1alpha1.VolumeClassList{},
			&storagev1alpha1.BucketPoolList{}, &storagev1alpha1.BucketClassList{},
		} {
			must(t, broker.List(ctx, l))
		}
	})
	t.Run("forbidden elsewhere", func(t *testing.T) {
		forbidden := func(what string, err error) {
			t.Helper()
			if !apierrors.IsForbidden(err) {
				t.Errorf("%s: want Forbidden, got %v", what, err)
			}
		}
		for _, o := range brokered(other) {
			forbidden("create "+o.GetObjectKind().GroupVersionKind().Kind+" in another namespace", broker.Create(ctx, o))
		}
		forbidden("get a Secret elsewhere", broker.Get(ctx, client.ObjectKey{Namespace: other, Name: "foreign"}, &corev1.Secret{}))
		forbidden("list Secrets cluster-wide", broker.List(ctx, &corev1.SecretList{}))
		forbidden("create a MachinePool", broker.Create(ctx, &computev1alpha1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: "p"}}))
		forbidden("create a VolumeClass", broker.Create(ctx, &storagev1alpha1.VolumeClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}}))
		forbidden("create a ClusterRole", broker.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "escalate"}}))
		forbidden("create a RoleBinding", broker.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "escalate", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "root-broker", Namespace: ns}},
		}))
		forbidden("update its Role", broker.Patch(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "root-broker", Namespace: ns}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`))))
		forbidden("create a Network", broker.Create(ctx, &networkingv1alpha1.Network{ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: ns}}))
	})
	t.Run("refused a ServiceAccount token Secret for itself", func(t *testing.T) {
		// RBAC lets it create Secrets in its namespace; the admission policy join installs
		// refuses this type, which would hand it a token that never expires. The policy is
		// loaded by the apiserver asynchronously: allow it a few seconds.
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			token := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "self-token", Namespace: ns,
					Annotations: map[string]string{corev1.ServiceAccountNameKey: "root-broker"}},
				Type: corev1.SecretTypeServiceAccountToken,
			}
			if err = broker.Create(ctx, token); apierrors.IsForbidden(err) || time.Now().After(deadline) {
				break
			}
			if err == nil {
				_ = admin.Delete(ctx, token)
			}
		}
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), join.NoTokenSecretMessage) {
			t.Fatalf("broker creating a token Secret for itself: want Forbidden naming the policy, got %v", err)
		}
		t.Logf("refused: %v", err)
		// Its ordinary Secrets are still allowed, and the admin is not restricted.
		must(t, broker.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ignition", Namespace: ns}}))
		must(t, admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "admin-token", Namespace: ns,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "root-broker"}}, Type: corev1.SecretTypeServiceAccountToken}))
		must(t, admin.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "admin-token", Namespace: ns}}))
	})

	t.Run("join again", func(t *testing.T) {
		// A stale rule must be repaired by the second join.
		must(t, admin.Patch(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "root-broker", Namespace: ns}},
			client.RawPatch(types.MergePatchType, []byte(`{"rules":[]}`))))
		again, err := join.Join(ctx, c.Config, opts)
		must(t, err)
		if again.Config.BearerToken == res.Config.BearerToken {
			t.Error("second join returned the same token")
		}
		must(t, newClient(t, again.Config).Create(ctx, brokered(ns)[0]))
	})

	t.Run("refuses foreign objects and bad options", func(t *testing.T) {
		must(t, admin.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: ns}}))
		_, err := join.Join(ctx, c.Config, join.Options{Name: "taken", Namespace: ns})
		if err == nil || !strings.Contains(err.Error(), "Role broker-ns/taken exists but is not managed by ironfed") {
			t.Errorf("join over a foreign Role: %v", err)
		}
		for _, o := range []join.Options{{Name: "Root_Broker", Namespace: ns}, {Name: "b"}, {Name: "b", Namespace: ns, TokenExpiration: time.Minute}} {
			if _, err := join.Join(ctx, c.Config, o); err == nil || !strings.HasPrefix(err.Error(), "invalid join options") {
				t.Errorf("join %+v: %v", o, err)
			} else {
				t.Log(err)
			}
		}
	})

	t.Run("leave", func(t *testing.T) {
		must(t, join.Leave(ctx, c.Config, opts))
		must(t, join.Leave(ctx, c.Config, opts)) // idempotent
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := broker.Create(ctx, brokered(ns)[4])
			if apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
				t.Logf("after leave: %v", err)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still allowed 30s after leave: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		must(t, admin.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}))
		must(t, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "x"}, &computev1alpha1.Machine{})) // workloads stay
		for _, o := range []client.Object{
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "root-broker", Namespace: ns}},
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "root-broker", Namespace: ns}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "root-broker", Namespace: ns}},
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ironfed:broker:broker-ns:root-broker"}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ironfed:broker:broker-ns:root-broker"}},
			&admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "ironfed-broker.broker-ns.root-broker"}},
			&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "ironfed-broker.broker-ns.root-broker"}},
		} {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(o), o); !apierrors.IsNotFound(err) {
				t.Errorf("%T %s after leave: %v", o, o.GetName(), err)
			}
		}
		// The foreign Role is not ours to delete.
		if err := join.Leave(ctx, c.Config, join.Options{Name: "taken", Namespace: ns}); err == nil || !strings.Contains(err.Error(), "not managed by ironfed") {
			t.Errorf("leave over a foreign Role: %v", err)
		}
	})
}

func TestRules(t *testing.T) {
	for _, r := range append(join.NamespaceRules(), join.ClusterRules()...) {
		for _, v := range append(append(r.Verbs, r.Resources...), r.APIGroups...) {
			if v == "*" {
				t.Errorf("wildcard in %+v", r)
			}
		}
	}
	for _, r := range join.ClusterRules() {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("cluster-wide verb %q in %+v", v, r)
			}
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDocs keeps the rule tables of docs/join.md in step with the rules.
func TestDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/join.md")
	must(t, err)
	for _, r := range append(join.NamespaceRules(), join.ClusterRules()...) {
		group := "`" + r.APIGroups[0] + "`"
		if r.APIGroups[0] == "" {
			group = "core"
		}
		row := fmt.Sprintf("| %s | `%s` | %s |", group, strings.Join(r.Resources, "`, `"), strings.Join(r.Verbs, ", "))
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/join.md lacks the row %q", row)
		}
	}
}
