package controllermanager_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ironfed/ironfed/federation/controllermanager"
)

// TestMetricsSecure: with --metrics-secure, /metrics is HTTPS and answers only callers whose
// bearer token the apiserver authenticates (401 otherwise) and authorizes for GET /metrics (403
// otherwise), as controller-runtime's secure serving does (issue 18 security).
func TestMetricsSecure(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	e := startEnv(t, func(o *controllermanager.Options) {
		o.MetricsBindAddress = addr
		o.MetricsSecurity.Secure = true
	})
	ctx := t.Context()
	cs := kubernetes.NewForConfigOrDie(e.cfg)
	token := func(sa string) string {
		t.Helper()
		if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa, &authnv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	scraper, stranger := token("scraper"), token("stranger")
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: "default"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Self-signed: the test trusts it blindly; a scraper would be given the CA (--metrics-cert-dir).
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	get := func(scheme, tok string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/metrics", scheme, addr), nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// The server starts with the manager, and RBAC takes a moment: poll for the authorized case.
	var code int
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, err = get("https", scraper); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK {
		t.Fatalf("authorized scraper: %d %v", code, err)
	}
	for _, c := range []struct {
		what, scheme, token string
		want                int
	}{
		{"no token", "https", "", http.StatusUnauthorized},
		{"an authenticated caller without the right", "https", stranger, http.StatusForbidden},
	} {
		if got, err := get(c.scheme, c.token); got != c.want {
			t.Errorf("%s: got %d (%v), want %d", c.what, got, err, c.want)
		}
	}
	// controller-runtime's filter answers a token that is not a JWT with 500, not 401: refused all
	// the same.
	if got, err := get("https", "not-a-token"); got == http.StatusOK {
		t.Errorf("a token the apiserver does not know: got %d (%v)", got, err)
	}
	if got, err := get("http", ""); err == nil && got == http.StatusOK {
		t.Error("plain HTTP served metrics")
	}
	t.Logf("secure /metrics on %s: 200 for the scraper, 401 without a token, refused with an unknown one, 403 without the right", addr)
}
