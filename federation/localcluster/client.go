package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func (c *Cluster) writeKubeconfig() error {
	return writeKubeconfig(c.KubeconfigPath, c.Name, c.Host(), c.pki.caCert, &clientcmdapi.AuthInfo{
		ClientCertificateData: c.pki.adminCert,
		ClientKeyData:         c.pki.adminKey,
	})
}

// UserConfig returns a client config and kubeconfig file (in the cluster directory) for a user
// authenticated by a client certificate of the cluster CA. Use it to test RBAC-limited identities.
func (c *Cluster) UserConfig(user string, groups ...string) (*rest.Config, string, error) {
	certPEM, keyPEM, err := c.pki.signClientCert(user, groups)
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(c.Dir, "kubeconfig-"+user)
	if err := writeKubeconfig(path, c.Name, c.Host(), c.pki.caCert, &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM, ClientKeyData: keyPEM,
	}); err != nil {
		return nil, "", err
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.CertData, cfg.KeyData = certPEM, keyPEM
	return cfg, path, nil
}

func writeKubeconfig(path, name, host string, ca []byte, auth *clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = auth
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// installCRDs creates (or updates) CRDs and waits until each is Established and served.
func installCRDs(ctx context.Context, cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) error {
	if len(crds) == 0 {
		return nil
	}
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		crd = crd.DeepCopy()
		crd.ResourceVersion = ""
		_, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			existing, gerr := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			crd.ResourceVersion = existing.ResourceVersion
			_, err = client.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("install CRD %s: %w", crd.Name, err)
		}
	}
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, crd := range crds {
			got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			established := false
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	})
}

func serviceAccountExists(ctx context.Context, cfg *rest.Config, namespace, name string) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	return err
}
