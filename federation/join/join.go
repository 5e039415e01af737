// Package join joins a downstream cluster under a broker: it creates the
// broker's namespace, ServiceAccount and least-privilege RBAC there and
// issues a token and kubeconfig for that identity — the steps a Helm chart
// performs too (docs/join.md). A broker never needs cluster-admin downstream.
package join

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// ManagedByLabel and ManagedByValue mark every object join creates.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "ironfed"
	// BrokerLabel carries Options.Name.
	BrokerLabel = "ironfed.dev/broker"

	// DefaultTokenExpiration is the requested token lifetime.
	DefaultTokenExpiration = 365 * 24 * time.Hour
	// minTokenExpiration is the TokenRequest API's minimum.
	minTokenExpiration = 10 * time.Minute
	// authzTimeout bounds the wait until the apiserver's RBAC cache grants
	// the new identity its rules.
	authzTimeout = 30 * time.Second
)

// Options name the broker's identity downstream.
type Options struct {
	// Name identifies the broker (e.g. "root-broker"): the ServiceAccount,
	// Role and RoleBinding are called so; the ClusterRole and
	// ClusterRoleBinding "ironfed:broker:<Namespace>:<Name>".
	Name string
	// Namespace holds the broker's objects; created if missing.
	Namespace string
	// TokenExpiration of the issued ServiceAccount token (default one
	// year; the apiserver may cap it, see Result.ExpiresAt).
	TokenExpiration time.Duration
}

// Result is the joined identity.
type Result struct {
	// Config authenticates as the broker's ServiceAccount.
	Config *rest.Config
	// Kubeconfig is the same as a kubeconfig file (server, CA, token).
	Kubeconfig []byte
	// ServiceAccount is the full user name, system:serviceaccount:<ns>:<name>.
	ServiceAccount string
	Namespace      string
	// ExpiresAt is when the token expires, as the apiserver issued it.
	ExpiresAt time.Time
}

func (o *Options) validate() error {
	var errs []error
	for _, f := range []struct{ flag, v string }{{"name", o.Name}, {"namespace", o.Namespace}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s is required", f.flag))
			continue
		}
		// A DNS-1123 label: Name is also a label value (at most 63 characters).
		if msgs := validation.IsDNS1123Label(f.v); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s %q: %s", f.flag, f.v, strings.Join(msgs, "; ")))
		}
	}
	if o.TokenExpiration == 0 {
		o.TokenExpiration = DefaultTokenExpiration
	}
	if o.TokenExpiration < minTokenExpiration {
		errs = append(errs, fmt.Errorf("token expiration %s is below the TokenRequest minimum of %s", o.TokenExpiration, minTokenExpiration))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid join options: %w", err)
	}
	return nil
}

func (o Options) clusterName() string { return "ironfed:broker:" + o.Namespace + ":" + o.Name }

func (o Options) labels() map[string]string {
	return map[string]string{ManagedByLabel: ManagedByValue, BrokerLabel: o.Name}
}

func (o Options) meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: o.labels()}
}

// owns tells whether an existing object was created by join for this broker;
// join refuses to take over or delete anything else.
func (o Options) owns(m metav1.Object) bool {
	l := m.GetLabels()
	return l[ManagedByLabel] == ManagedByValue && l[BrokerLabel] == o.Name
}

func (o Options) notOwned(kind, name string) error {
	return fmt.Errorf("%s %s exists but is not managed by ironfed for broker %q (labels %s=%s, %s=%s missing): choose another name or remove it",
		kind, name, o.Name, ManagedByLabel, ManagedByValue, BrokerLabel, o.Name)
}

// Join creates or updates the broker's namespace, admission policy (no
// ServiceAccount token Secrets) and its binding, ServiceAccount, Role,
// RoleBinding, ClusterRole and ClusterRoleBinding with admin, issues a new
// token for the ServiceAccount and waits until the apiserver authorizes it.
// It is idempotent: joining again updates the rules and issues a fresh token
// (earlier tokens stay valid until they expire).
func Join(ctx context.Context, admin *rest.Config, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, fmt.Errorf("downstream client: %w", err)
	}
	if err := ensureNamespace(ctx, cs, o); err != nil {
		return nil, err
	}
	for _, step := range []func(context.Context, kubernetes.Interface, Options) error{
		// The policy first: the identity never exists without it.
		ensurePolicy, ensurePolicyBinding,
		ensureServiceAccount, ensureRole, ensureRoleBinding, ensureClusterRole, ensureClusterRoleBinding,
	} {
		if err := step(ctx, cs, o); err != nil {
			return nil, err
		}
	}
	secs := int64(o.TokenExpiration / time.Second)
	tr, err := cs.CoreV1().ServiceAccounts(o.Namespace).CreateToken(ctx, o.Name, &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &secs},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("request token for ServiceAccount %s/%s: %w", o.Namespace, o.Name, err)
	}
	cfg := rest.AnonymousClientConfig(admin)
	cfg.BearerToken = tr.Status.Token
	kubeconfig, err := buildKubeconfig(cfg, o)
	if err != nil {
		return nil, err
	}
	if err := waitAuthorized(ctx, cfg, o); err != nil {
		return nil, err
	}
	return &Result{
		Config:         cfg,
		Kubeconfig:     kubeconfig,
		ServiceAccount: o.userName(),
		Namespace:      o.Namespace,
		ExpiresAt:      tr.Status.ExpirationTimestamp.Time,
	}, nil
}

func ensureNamespace(ctx context.Context, cs kubernetes.Interface, o Options) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: o.meta("", o.Namespace)}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Namespace %s: %w", o.Namespace, err)
	}
	return nil
}

func buildKubeconfig(cfg *rest.Config, o Options) ([]byte, error) {
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("read CA file of the admin config: %w", err)
		}
	}
	name := o.Name
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{
		Server: cfg.Host, CertificateAuthorityData: ca, TLSServerName: cfg.ServerName, InsecureSkipTLSVerify: cfg.Insecure,
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: o.Namespace}
	kc.CurrentContext = name
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	return b, nil
}

// waitAuthorized polls SelfSubjectAccessReviews as the new identity: the
// apiserver authenticates and authorizes from caches that lag the writes,
// and a broker started right away would fail its first list.
func waitAuthorized(ctx context.Context, cfg *rest.Config, o Options) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client for the joined identity: %w", err)
	}
	checks := []authzv1.ResourceAttributes{
		{Namespace: o.Namespace, Verb: "create", Group: computeGroup, Resource: "machines"},
		{Namespace: o.Namespace, Verb: "watch", Group: "", Resource: "secrets"},
		{Verb: "watch", Group: storageGroup, Resource: "bucketpools"},
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, authzTimeout, true, func(ctx context.Context) (bool, error) {
		for _, ra := range checks {
			r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
				Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra},
			}, metav1.CreateOptions{})
			switch {
			case err != nil:
				last = err
				return false, nil
			case !r.Status.Allowed:
				last = fmt.Errorf("%s %s.%s in %q not allowed yet: %s", ra.Verb, ra.Resource, ra.Group, ra.Namespace, r.Status.Reason)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ServiceAccount %s/%s not authorized within %s (last: %v): %w", o.Namespace, o.Name, authzTimeout, last, err)
	}
	return nil
}

// Leave removes what Join created for the broker — ServiceAccount (which
// invalidates its tokens), Role, RoleBinding, ClusterRole,
// ClusterRoleBinding and the admission policy with its binding — and leaves the namespace: it holds the brokered
// workloads, which the upstream poollets still own. Missing objects are
// fine; objects not managed by ironfed for this broker are left alone and
// reported.
func Leave(ctx context.Context, admin *rest.Config, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return fmt.Errorf("downstream client: %w", err)
	}
	core, rbac, adm := cs.CoreV1(), cs.RbacV1(), cs.AdmissionregistrationV1()
	ns, cn, pn := o.Namespace, o.clusterName(), o.policyName()
	type step struct {
		kind, name string
		get        func() (metav1.Object, error)
		del        func() error
	}
	del := metav1.DeleteOptions{}
	steps := []step{
		// The ServiceAccount first: authentication ends before the rules go.
		{"ServiceAccount", ns + "/" + o.Name,
			func() (metav1.Object, error) { return core.ServiceAccounts(ns).Get(ctx, o.Name, metav1.GetOptions{}) },
			func() error { return core.ServiceAccounts(ns).Delete(ctx, o.Name, del) }},
		{"RoleBinding", ns + "/" + o.Name,
			func() (metav1.Object, error) { return rbac.RoleBindings(ns).Get(ctx, o.Name, metav1.GetOptions{}) },
			func() error { return rbac.RoleBindings(ns).Delete(ctx, o.Name, del) }},
		{"Role", ns + "/" + o.Name,
			func() (metav1.Object, error) { return rbac.Roles(ns).Get(ctx, o.Name, metav1.GetOptions{}) },
			func() error { return rbac.Roles(ns).Delete(ctx, o.Name, del) }},
		{"ClusterRoleBinding", cn,
			func() (metav1.Object, error) { return rbac.ClusterRoleBindings().Get(ctx, cn, metav1.GetOptions{}) },
			func() error { return rbac.ClusterRoleBindings().Delete(ctx, cn, del) }},
		{"ClusterRole", cn,
			func() (metav1.Object, error) { return rbac.ClusterRoles().Get(ctx, cn, metav1.GetOptions{}) },
			func() error { return rbac.ClusterRoles().Delete(ctx, cn, del) }},
		// The policy last: it guards the identity until the identity is gone.
		{"ValidatingAdmissionPolicyBinding", pn,
			func() (metav1.Object, error) {
				return adm.ValidatingAdmissionPolicyBindings().Get(ctx, pn, metav1.GetOptions{})
			},
			func() error { return adm.ValidatingAdmissionPolicyBindings().Delete(ctx, pn, del) }},
		{"ValidatingAdmissionPolicy", pn,
			func() (metav1.Object, error) {
				return adm.ValidatingAdmissionPolicies().Get(ctx, pn, metav1.GetOptions{})
			},
			func() error { return adm.ValidatingAdmissionPolicies().Delete(ctx, pn, del) }},
	}
	var errs []error
	for _, s := range steps {
		cur, err := s.get()
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("get %s %s: %w", s.kind, s.name, err))
			continue
		case !o.owns(cur):
			errs = append(errs, o.notOwned(s.kind, s.name))
			continue
		}
		if err := s.del(); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", s.kind, s.name, err))
		}
	}
	return errors.Join(errs...)
}
