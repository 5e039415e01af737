// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinepoollet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	apiconsole "github.com/ironfed/ironfed/federation/api/console"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/remote"
)

// ConsoleOptions configure the poollet's console endpoint: the server
// upstream's machinepoollet runs for machines/exec, which the pool's status
// advertises (addresses and daemonEndpoints).
type ConsoleOptions struct {
	// BindAddress of the HTTPS server; empty disables consoles.
	BindAddress string
	// AdvertiseAddress is the host written to the pool's status (default:
	// the bind address's host, or 127.0.0.1 when it binds every address).
	AdvertiseAddress string
	// TLSCertFile and TLSKeyFile are the serving certificate; without them a
	// self-signed one is made at start (as kubelet does).
	TLSCertFile, TLSKeyFile string
	// RuntimeCAFile verifies the runtime's https Exec URLs (default: the
	// system roots); InsecureRuntime skips that verification.
	RuntimeCAFile   string
	InsecureRuntime bool
}

// AddFlags adds the console flags.
func (o *ConsoleOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.BindAddress, "console-bind-address", o.BindAddress, "Address of the HTTPS server that serves machine consoles (machines/exec, authorized by SubjectAccessReview); empty disables it.")
	fs.StringVar(&o.AdvertiseAddress, "console-advertise-address", o.AdvertiseAddress, "Host advertised in the MachinePool status for the console server (default: the bind address's host).")
	fs.StringVar(&o.TLSCertFile, "console-tls-cert-file", o.TLSCertFile, "Serving certificate of the console server (PEM); empty: a self-signed one.")
	fs.StringVar(&o.TLSKeyFile, "console-tls-private-key-file", o.TLSKeyFile, "Private key of --console-tls-cert-file.")
	fs.StringVar(&o.RuntimeCAFile, "console-runtime-ca-file", o.RuntimeCAFile, "CA bundle (PEM) that verifies the runtime's https Exec URLs; empty: the system roots.")
	fs.BoolVar(&o.InsecureRuntime, "insecure-console-runtime", o.InsecureRuntime, "Do not verify the certificate of the runtime's https Exec URLs. Insecure.")
}

func (o *ConsoleOptions) validate() error {
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return errors.New("--console-tls-cert-file and --console-tls-private-key-file go together")
	}
	return nil
}

// consoleServer authenticates a caller (client certificate of the cluster's
// client CA, or a bearer token by TokenReview), authorizes machines/exec on
// the Machine by SubjectAccessReview, asks the runtime for an Exec URL and
// proxies the upgraded stream to it.
type consoleServer struct {
	o      ConsoleOptions
	pool   string
	rt     remote.MachineRuntime
	kube   client.Client
	cs     kubernetes.Interface
	log    logr.Logger
	lis    net.Listener
	tlsCfg *tls.Config
	// runtimeTLS verifies the runtime's https Exec URLs.
	runtimeTLS *tls.Config
}

// consoleHop names the poollet in the console session metrics.
const consoleHop = "machinepoollet"

// clientCAConfigMap is where kube-apiserver publishes its client CA.
var clientCAConfigMap = types.NamespacedName{Namespace: "kube-system", Name: "extension-apiserver-authentication"}

func newConsoleServer(ctx context.Context, o ConsoleOptions, pool string, rt remote.MachineRuntime, kube client.Client, cs kubernetes.Interface, log logr.Logger) (*consoleServer, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &consoleServer{o: o, pool: pool, rt: rt, kube: kube, cs: cs, log: log}
	s.runtimeTLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureRuntime} //nolint:gosec // only on --insecure-console-runtime
	if o.RuntimeCAFile != "" {
		b, err := os.ReadFile(o.RuntimeCAFile)
		if err != nil {
			return nil, fmt.Errorf("--console-runtime-ca-file: %w", err)
		}
		s.runtimeTLS.RootCAs = x509.NewCertPool()
		if !s.runtimeTLS.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--console-runtime-ca-file %s holds no PEM certificate", o.RuntimeCAFile)
		}
	}
	cert, err := s.servingCert()
	if err != nil {
		return nil, err
	}
	s.tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, NextProtos: []string{"http/1.1"}}
	if pool, err := s.clientCAs(ctx); err != nil {
		log.Info("Client certificates are not accepted on the console server (bearer tokens are)", "reason", err.Error())
	} else {
		s.tlsCfg.ClientCAs, s.tlsCfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	if s.lis, err = net.Listen("tcp", o.BindAddress); err != nil {
		return nil, fmt.Errorf("console server: %w", err)
	}
	return s, nil
}

func (s *consoleServer) servingCert() (tls.Certificate, error) {
	if s.o.TLSCertFile != "" {
		return tls.LoadX509KeyPair(s.o.TLSCertFile, s.o.TLSKeyFile)
	}
	host := s.advertiseHost()
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = append(ips, ip)
	}
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, ips, nil)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed console certificate: %w", err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func (s *consoleServer) clientCAs(ctx context.Context) (*x509.CertPool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cm, err := s.cs.CoreV1().ConfigMaps(clientCAConfigMap.Namespace).Get(ctx, clientCAConfigMap.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the client CA (%s): %w", clientCAConfigMap, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cm.Data["client-ca-file"])) {
		return nil, fmt.Errorf("%s has no client-ca-file", clientCAConfigMap)
	}
	return pool, nil
}

func (s *consoleServer) advertiseHost() string {
	if s.o.AdvertiseAddress != "" {
		return s.o.AdvertiseAddress
	}
	host, _, err := net.SplitHostPort(s.o.BindAddress)
	if err != nil || host == "" || net.ParseIP(host).IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}

// Start serves until ctx ends and keeps the pool's status advertising it.
func (s *consoleServer) Start(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/"+apiconsole.Group+"/namespaces/{namespace}/machines/{name}/exec", s.serveExec)
	srv := &http.Server{Handler: mux, TLSConfig: s.tlsCfg, ReadHeaderTimeout: 30 * time.Second}
	go s.advertise(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("Serving machine consoles", "address", s.lis.Addr().String())
	if err := srv.ServeTLS(s.lis, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// NeedLeaderElection: every replica serves consoles.
func (s *consoleServer) NeedLeaderElection() bool { return false }

// advertise writes the endpoint into the pool's status until ctx ends (the
// pool may not exist yet, or be recreated).
func (s *consoleServer) advertise(ctx context.Context) {
	_, portStr, _ := net.SplitHostPort(s.lis.Addr().String())
	var port int32
	_, _ = fmt.Sscan(portStr, &port)
	host := s.advertiseHost()
	typ := computev1alpha1.MachinePoolHostName
	if net.ParseIP(host) != nil {
		typ = computev1alpha1.MachinePoolInternalIP
	}
	want := []computev1alpha1.MachinePoolAddress{{Type: typ, Address: host}}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if err := s.patchPool(ctx, want, port); err != nil && ctx.Err() == nil {
			s.log.V(1).Info("Waiting to advertise the console endpoint in the pool status", "pool", s.pool, "reason", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *consoleServer) patchPool(ctx context.Context, addrs []computev1alpha1.MachinePoolAddress, port int32) error {
	p := &computev1alpha1.MachinePool{}
	if err := s.kube.Get(ctx, types.NamespacedName{Name: s.pool}, p); err != nil {
		return err
	}
	if p.Status.DaemonEndpoints.MachinepoolletEndpoint.Port == port && len(p.Status.Addresses) == 1 && p.Status.Addresses[0] == addrs[0] {
		return nil
	}
	orig := p.DeepCopy()
	p.Status.Addresses = addrs
	p.Status.DaemonEndpoints.MachinepoolletEndpoint.Port = port
	return s.kube.Status().Patch(ctx, p, client.MergeFrom(orig))
}

func (s *consoleServer) serveExec(w http.ResponseWriter, r *http.Request) {
	key := types.NamespacedName{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	user, err := s.authenticate(r)
	if err != nil {
		apiconsole.CountSession(consoleHop, apiconsole.ResultUnauthenticated)
		apiconsole.WriteError(w, http.StatusUnauthorized, fmt.Sprintf("pool %s: %v", s.pool, err))
		return
	}
	if err := s.authorize(r.Context(), user, key); err != nil {
		apiconsole.CountSession(consoleHop, apiconsole.ResultForbidden)
		apiconsole.WriteError(w, http.StatusForbidden, fmt.Sprintf("pool %s: %v", s.pool, err))
		return
	}
	u, code, err := s.execURL(r.Context(), key)
	if err != nil {
		apiconsole.CountSession(consoleHop, apiconsole.ResultRefused)
		apiconsole.WriteError(w, code, fmt.Sprintf("pool %s: %v", s.pool, err))
		return
	}
	s.log.V(1).Info("Console session", "machine", key, "user", user.Username)
	apiconsole.Proxy(w, r, apiconsole.Target{URL: u, TLS: s.runtimeTLS, Level: "the machine runtime of pool " + s.pool, Hop: consoleHop})
}

func (s *consoleServer) authenticate(r *http.Request) (authnv1.UserInfo, error) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		return authnv1.UserInfo{Username: c.Subject.CommonName, Groups: c.Subject.Organization}, nil
	}
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return authnv1.UserInfo{}, errors.New("no credentials: present a client certificate of the cluster's client CA or a bearer token")
	}
	tr, err := s.cs.AuthenticationV1().TokenReviews().Create(r.Context(), &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: h[len(prefix):]}}, metav1.CreateOptions{})
	if err != nil {
		return authnv1.UserInfo{}, fmt.Errorf("token review failed: %v", err)
	}
	if !tr.Status.Authenticated {
		return authnv1.UserInfo{}, fmt.Errorf("invalid bearer token: %s", tr.Status.Error)
	}
	return tr.Status.User, nil
}

func (s *consoleServer) authorize(ctx context.Context, u authnv1.UserInfo, key types.NamespacedName) error {
	extra := map[string]authzv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := s.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Username, Groups: u.Groups, UID: u.UID, Extra: extra,
		ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: key.Namespace, Name: key.Name, Verb: apiconsole.Verb,
			Group: apiconsole.Group, Resource: apiconsole.Resource, Subresource: apiconsole.Subresource,
		},
	}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("subject access review failed: %v", err)
	}
	if !sar.Status.Allowed {
		return fmt.Errorf("user %q may not open the console of machine %s (needs %s on %s/%s in %s)", u.Username, key, apiconsole.Verb, apiconsole.Resource, apiconsole.Subresource, apiconsole.Group)
	}
	return nil
}

// execURL finds the runtime's machine for key and asks it for a console URL.
func (s *consoleServer) execURL(ctx context.Context, key types.NamespacedName) (*url.URL, int, error) {
	m := &computev1alpha1.Machine{}
	if err := s.kube.Get(ctx, key, m); err != nil {
		return nil, http.StatusNotFound, fmt.Errorf("machine %s is not bound to this pool", key)
	}
	if m.Spec.MachinePoolRef.Name != s.pool {
		return nil, http.StatusNotFound, fmt.Errorf("machine %s is not bound to this pool", key)
	}
	if m.Status.State != computev1alpha1.MachineStateRunning {
		return nil, http.StatusConflict, fmt.Errorf("machine %s is not Running (state %q)", key, m.Status.State)
	}
	list, err := s.rt.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{Filter: &machinev1alpha1.MachineFilter{LabelSelector: map[string]string{labels.MachineUIDLabel: string(m.UID)}}})
	if err != nil {
		return nil, httpCode(err), fmt.Errorf("listing runtime machines: %v", status.Convert(err).Message())
	}
	if len(list.GetMachines()) == 0 {
		return nil, http.StatusConflict, fmt.Errorf("machine %s has no runtime machine yet", key)
	}
	resp, err := s.rt.Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: list.GetMachines()[0].GetMetadata().GetId()})
	if err != nil {
		return nil, httpCode(err), fmt.Errorf("runtime Exec: %v", status.Convert(err).Message())
	}
	u, err := url.Parse(resp.GetUrl())
	if err != nil || !u.IsAbs() {
		return nil, http.StatusBadGateway, fmt.Errorf("runtime Exec answered an invalid URL %q", resp.GetUrl())
	}
	return u, 0, nil
}

func httpCode(err error) int {
	switch status.Code(err) {
	case codes.NotFound:
		return http.StatusNotFound
	case codes.FailedPrecondition:
		return http.StatusConflict
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.PermissionDenied:
		return http.StatusForbidden
	}
	return http.StatusServiceUnavailable
}
