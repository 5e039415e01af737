package charts_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/rest"

	"github.com/ironfed/ironfed/federation/join"
	"github.com/ironfed/ironfed/test/framework"
)

// joinsRelease renders the control-plane chart's joins value: one broker identity in a namespace
// the chart creates, one in an existing namespace.
var joinsRelease = release{"ironfed-control-plane", "cp-joins", "ironfed-system", []string{
	"joins[0].name=root-broker", "joins[0].namespace=tenant-a", "joins[0].createNamespace=true",
	"joins[1].name=region-broker", "joins[1].namespace=ironfed-system",
	"classes.machine=null", "classes.volume=null", "classes.bucket=null", "poolLeases.createNamespace=false",
}}

// TestJoinsMatchJoin keeps the control-plane chart's joins in step with federation/join: for every
// entry the chart renders exactly the objects Join creates (names, join's ownership labels, which
// let ironfed join adopt them), the Role and ClusterRole with join.NamespaceRules() and
// join.ClusterRules(), and the admission policy and binding of join.Policy(), spec for spec.
func TestJoinsMatchJoin(t *testing.T) {
	h := framework.NewHelm(t)
	objs := decodeAll(t, render(t, h, joinsRelease, false))
	byKey := map[string]object{}
	for _, o := range objs {
		byKey[o.kind+"/"+o.name] = o
	}
	for _, o := range []join.Options{{Name: "root-broker", Namespace: "tenant-a"}, {Name: "region-broker", Namespace: "ironfed-system"}} {
		cluster := "ironfed:broker:" + o.Namespace + ":" + o.Name
		get := func(kind, name string, into any) bool {
			t.Helper()
			obj, ok := byKey[kind+"/"+name]
			if !ok {
				t.Errorf("%s: no %s %s rendered", o.Name, kind, name)
				return false
			}
			obj.into(t, into)
			return true
		}
		checkMeta := func(kind string, namespace string, labels map[string]string, wantNamespace string) {
			t.Helper()
			if namespace != wantNamespace {
				t.Errorf("%s: %s in namespace %q, want %q", o.Name, kind, namespace, wantNamespace)
			}
			if labels[join.ManagedByLabel] != join.ManagedByValue || labels[join.BrokerLabel] != o.Name {
				t.Errorf("%s: %s labels %v lack join's %s=%s, %s=%s: ironfed join would refuse to adopt it", o.Name, kind, labels, join.ManagedByLabel, join.ManagedByValue, join.BrokerLabel, o.Name)
			}
		}
		subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: o.Name, Namespace: o.Namespace}}

		var sa corev1.ServiceAccount
		if get("ServiceAccount", o.Name, &sa) {
			checkMeta("ServiceAccount", sa.Namespace, sa.Labels, o.Namespace)
		}
		var role rbacv1.Role
		if get("Role", o.Name, &role) {
			checkMeta("Role", role.Namespace, role.Labels, o.Namespace)
			if !equality.Semantic.DeepEqual(role.Rules, join.NamespaceRules()) {
				t.Errorf("%s: Role rules differ from join.NamespaceRules():\nchart %+v\njoin  %+v", o.Name, role.Rules, join.NamespaceRules())
			}
		}
		var rb rbacv1.RoleBinding
		if get("RoleBinding", o.Name, &rb) {
			checkMeta("RoleBinding", rb.Namespace, rb.Labels, o.Namespace)
			if rb.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: o.Name}) || !equality.Semantic.DeepEqual(rb.Subjects, subjects) {
				t.Errorf("%s: RoleBinding %+v %+v", o.Name, rb.RoleRef, rb.Subjects)
			}
		}
		var cr rbacv1.ClusterRole
		if get("ClusterRole", cluster, &cr) {
			checkMeta("ClusterRole", cr.Namespace, cr.Labels, "")
			if !equality.Semantic.DeepEqual(cr.Rules, join.ClusterRules()) {
				t.Errorf("%s: ClusterRole rules differ from join.ClusterRules():\nchart %+v\njoin  %+v", o.Name, cr.Rules, join.ClusterRules())
			}
		}
		var crb rbacv1.ClusterRoleBinding
		if get("ClusterRoleBinding", cluster, &crb) {
			checkMeta("ClusterRoleBinding", crb.Namespace, crb.Labels, "")
			if crb.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cluster}) || !equality.Semantic.DeepEqual(crb.Subjects, subjects) {
				t.Errorf("%s: ClusterRoleBinding %+v %+v", o.Name, crb.RoleRef, crb.Subjects)
			}
		}
		wantPolicy, wantBinding, err := join.Policy(o)
		if err != nil {
			t.Fatal(err)
		}
		var vap admissionv1.ValidatingAdmissionPolicy
		if get("ValidatingAdmissionPolicy", wantPolicy.Name, &vap) {
			checkMeta("ValidatingAdmissionPolicy", vap.Namespace, vap.Labels, "")
			if !equality.Semantic.DeepEqual(vap.Spec, wantPolicy.Spec) {
				t.Errorf("%s: ValidatingAdmissionPolicy spec differs from join.Policy():\nchart %+v\njoin  %+v", o.Name, vap.Spec, wantPolicy.Spec)
			}
		}
		var vapb admissionv1.ValidatingAdmissionPolicyBinding
		if get("ValidatingAdmissionPolicyBinding", wantBinding.Name, &vapb) {
			checkMeta("ValidatingAdmissionPolicyBinding", vapb.Namespace, vapb.Labels, "")
			if !equality.Semantic.DeepEqual(vapb.Spec, wantBinding.Spec) {
				t.Errorf("%s: ValidatingAdmissionPolicyBinding spec differs from join.Policy():\nchart %+v\njoin  %+v", o.Name, vapb.Spec, wantBinding.Spec)
			}
		}
	}
	var namespaces []string
	for _, o := range objs {
		if o.kind == "Namespace" {
			namespaces = append(namespaces, o.name)
		}
	}
	if strings.Join(namespaces, ",") != "tenant-a" {
		t.Errorf("Namespaces rendered: %v, want only tenant-a (createNamespace)", namespaces)
	}
}

// checkJoinPolicyEnforced installs the joins of joinsRelease for real and proves on the apiserver
// what the policy is for: the broker's identity, which its Role lets create Secrets, is refused a
// ServiceAccount token Secret with join's message, may still create other Secrets, and the admin
// may create the token Secret. join.Join then adopts the chart's objects and issues the token.
func checkJoinPolicyEnforced(t *testing.T, h *framework.Helm, kubectl func([]byte, ...string) ([]byte, error), admin *rest.Config) {
	if out, err := kubectl(render(t, h, joinsRelease, false), "apply", "-f", "-"); err != nil {
		t.Fatalf("apply %s: %v\n%s", joinsRelease.name, err, out)
	}
	const ns, broker = "tenant-a", "system:serviceaccount:tenant-a:root-broker"
	secret := func(typ string) []byte {
		return fmt.Appendf(nil, `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "probe", "namespace": %q,
  "annotations": {"kubernetes.io/service-account.name": "root-broker"}}, "type": %q}`, ns, typ)
	}
	create := func(as, typ string) error {
		args := []string{"create", "--dry-run=server", "-f", "-"}
		if as != "" {
			args = append(args, "--as", as)
		}
		out, err := kubectl(secret(typ), args...)
		if err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	// Policies take effect a moment after they are created.
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if err = create(broker, "kubernetes.io/service-account-token"); err != nil && strings.Contains(err.Error(), join.NoTokenSecretMessage) {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), join.NoTokenSecretMessage) {
		t.Fatalf("the broker created a ServiceAccount token Secret for itself: %v", err)
	}
	t.Logf("the broker is refused: %v", err)
	if err := create(broker, "Opaque"); err != nil {
		t.Errorf("the broker may no longer create an Opaque Secret: %v", err)
	}
	if err := create("", "kubernetes.io/service-account-token"); err != nil {
		t.Errorf("the admin may not create the token Secret: %v", err)
	}
	res, err := join.Join(t.Context(), admin, join.Options{Name: "root-broker", Namespace: ns})
	if err != nil {
		t.Fatalf("ironfed join after the chart declared the identity: %v", err)
	}
	t.Logf("join adopted the chart's objects and issued a token for %s", res.ServiceAccount)
}
