package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the credentials of one cluster: a CA, the apiserver serving cert, an admin client cert
// (group system:masters) and the service-account signing key. They are written once into the
// cluster directory and reused across restarts so kubeconfigs stay valid.
type pki struct {
	dir             string
	caCert, caKey   []byte
	adminCert       []byte
	adminKey        []byte
	serviceAcctKey  string // PEM private key file
	servingCertFile string
	servingKeyFile  string
	caFile          string
	// encryptionConfig encrypts Secrets at rest (secretbox): the local etcd is unauthenticated,
	// so at least what it stores of Secrets is unreadable without the key.
	encryptionConfig string
}

// newPKI loads the PKI in dir or writes a new one whose serving certificate also names ips.
func newPKI(dir string, ips []net.IP) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{
		dir:              dir,
		caFile:           filepath.Join(dir, "ca.crt"),
		servingCertFile:  filepath.Join(dir, "apiserver.crt"),
		servingKeyFile:   filepath.Join(dir, "apiserver.key"),
		serviceAcctKey:   filepath.Join(dir, "service-account.key"),
		encryptionConfig: filepath.Join(dir, "encryption.yaml"),
	}
	if err := writeEncryptionConfig(p.encryptionConfig); err != nil {
		return nil, err
	}
	if p.load() == nil {
		return p, nil
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ironfed-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)

	servingCert, servingKey, err := issue(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: append([]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, ips...),
	})
	if err != nil {
		return nil, err
	}
	adminCert, adminKey, err := issue(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "ironfed-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caKeyPEM, err := keyPEM(caKey)
	if err != nil {
		return nil, err
	}
	// EC PRIVATE KEY (SEC 1): the form kube-apiserver's key loaders read for both the signing key
	// and the verification key file.
	saDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	saKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: saDER})
	files := map[string][]byte{
		p.caFile:                        certPEM(caDER),
		filepath.Join(dir, "ca.key"):    caKeyPEM,
		p.servingCertFile:               servingCert,
		p.servingKeyFile:                servingKey,
		filepath.Join(dir, "admin.crt"): adminCert,
		filepath.Join(dir, "admin.key"): adminKey,
		p.serviceAcctKey:                saKeyPEM,
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, p.load()
}

func (p *pki) load() error {
	var err error
	read := func(name string) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		b, err = os.ReadFile(filepath.Join(p.dir, name))
		return b
	}
	p.caCert, p.caKey = read("ca.crt"), read("ca.key")
	p.adminCert, p.adminKey = read("admin.crt"), read("admin.key")
	for _, f := range []string{p.servingCertFile, p.servingKeyFile, p.serviceAcctKey} {
		if err == nil {
			_, err = os.Stat(f)
		}
	}
	return err
}

// SignClientCert issues a client certificate for user and groups, signed by the cluster CA.
func (p *pki) signClientCert(user string, groups []string) (certPEMBytes, keyPEMBytes []byte, err error) {
	ca, signer, err := p.signer()
	if err != nil {
		return nil, nil, err
	}
	return issue(ca, signer, &x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// ServingCert issues a serving certificate for the loopback address and name, signed by the
// cluster CA: what a component serving inside the cluster (a machinepoollet's console) presents
// to clients that trust the cluster's kubeconfig CA.
func (c *Cluster) ServingCert(name string) (certPEMBytes, keyPEMBytes []byte, err error) {
	ca, signer, err := c.pki.signer()
	if err != nil {
		return nil, nil, err
	}
	return issue(ca, signer, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    []string{name, "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

func (p *pki) signer() (*x509.Certificate, crypto.Signer, error) {
	caBlock, _ := pem.Decode(p.caCert)
	keyBlock, _ := pem.Decode(p.caKey)
	if caBlock == nil || keyBlock == nil {
		return nil, nil, fmt.Errorf("cluster CA in %s is unreadable", p.dir)
	}
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	caKey, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := caKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("cluster CA key is not a signer")
	}
	return ca, signer, nil
}

func issue(ca *x509.Certificate, caKey crypto.Signer, tmpl *x509.Certificate) (certPEMBytes, keyPEMBytes []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(5 * 365 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	kp, err := keyPEM(key)
	return certPEM(der), kp, err
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(key crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeEncryptionConfig writes, once, an EncryptionConfiguration that encrypts Secrets with a
// random secretbox key; identity comes second so Secrets written before it can still be read.
func writeEncryptionConfig(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - secretbox:
          keys:
            - name: key1
              secret: %s
      - identity: {}
`, base64.StdEncoding.EncodeToString(key))
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// AdminCertFiles are the admin (system:masters) client certificate and key of the cluster whose
// Options.Dir is dir, known before it starts: the apiserver of a cluster with nodes authenticates
// to its kubelets with them (--kubelet-client-certificate).
func AdminCertFiles(dir string) (cert, key string) {
	return filepath.Join(dir, "pki", "admin.crt"), filepath.Join(dir, "pki", "admin.key")
}
