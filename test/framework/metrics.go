package framework

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// metricsReader is the ClusterRole MetricsToken binds an allowed caller to.
const metricsReader = "test:metrics-reader"

// MetricsToken creates the ServiceAccount default/name in the cluster at admin and returns a
// token of it; with allowed the account is bound to a ClusterRole granting get on the
// non-resource URL /metrics.
func MetricsToken(t testing.TB, admin *rest.Config, name string, allowed bool) string {
	t.Helper()
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(admin)
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if allowed {
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: metricsReader},
			Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: metricsReader + ":" + name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReader},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: "default"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// GetMetrics asks scheme://addr/metrics with the bearer token (none if empty) and returns the
// status code. Any certificate is trusted: the endpoints under test are self-signed.
func GetMetrics(ctx context.Context, scheme, addr, token string) (int, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/metrics", scheme, addr), nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// CheckSecureMetrics checks a --metrics-secure endpoint on addr against the cluster at admin,
// which must be the one reviewing its callers: 200 for a ServiceAccount allowed get /metrics,
// 403 for one that is not, 401 without a token, refused with a string that is no token and over
// plain HTTP. It creates the ServiceAccounts "scraper" and "stranger" in default.
func CheckSecureMetrics(t testing.TB, admin *rest.Config, addr string) {
	t.Helper()
	ctx := context.Background()
	scraper, stranger := MetricsToken(t, admin, "scraper", true), MetricsToken(t, admin, "stranger", false)
	// The server may still be starting, and RBAC takes a moment: poll for the authorized case.
	var code int
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, err = GetMetrics(ctx, "https", addr, scraper); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK {
		t.Fatalf("authorized scraper: %d %v", code, err)
	}
	for _, c := range []struct {
		what, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"an authenticated caller without the right", stranger, http.StatusForbidden},
	} {
		if got, err := GetMetrics(ctx, "https", addr, c.token); got != c.want {
			t.Errorf("%s: got %d (%v), want %d", c.what, got, err, c.want)
		}
	}
	// controller-runtime's filter answers a token that is not a JWT with 500, not 401: refused all
	// the same.
	if got, err := GetMetrics(ctx, "https", addr, "not-a-token"); got == http.StatusOK {
		t.Errorf("a token the apiserver does not know: got %d (%v)", got, err)
	}
	if got, err := GetMetrics(ctx, "http", addr, ""); err == nil && got == http.StatusOK {
		t.Error("plain HTTP served metrics")
	}
}
