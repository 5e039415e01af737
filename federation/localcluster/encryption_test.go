package localcluster_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/test/framework"
)

// A local cluster's etcd is unauthenticated (loopback only), so Secrets are encrypted at rest:
// what etcd holds of a Secret, read directly from etcd, is secretbox ciphertext, not the value.
func TestSecretsEncryptedAtRest(t *testing.T) {
	c := framework.StartClusters(t, framework.ClustersInput{Names: []string{"enc"}, WithoutControllerManager: true})[0]
	cl, err := client.New(c.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "ignition-marker-7f3a9"
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "enc-test"}, StringData: map[string]string{"ignition": marker}}
	if err := cl.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte("/registry/secrets/default/enc-test"))})
	resp, err := http.Post(c.EtcdURL()+"/v3/kv/range", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		KVs []struct {
			Value []byte `json:"value"`
		} `json:"kvs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.KVs) != 1 {
		t.Fatalf("etcd range: %v, %d keys", err, len(out.KVs))
	}
	stored := string(out.KVs[0].Value)
	if !strings.HasPrefix(stored, "k8s:enc:secretbox:v1:key1:") || strings.Contains(stored, marker) {
		t.Fatalf("etcd holds the Secret as %q…; want secretbox ciphertext without the value", stored[:min(len(stored), 40)])
	}
	got := &corev1.Secret{}
	if err := cl.Get(t.Context(), client.ObjectKeyFromObject(s), got); err != nil || string(got.Data["ignition"]) != marker {
		t.Fatalf("read back through the apiserver: %v %q", err, got.Data["ignition"])
	}
}
