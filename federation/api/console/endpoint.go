// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
)

// Group, Resource and Subresource name the permission a console needs:
// verb "create" on machines/exec in compute.ironcore.dev, as IronCore's
// aggregated apiserver checks for its exec subresource.
const (
	Group       = computev1alpha1.GroupName
	Resource    = "machines"
	Subresource = "exec"
	Verb        = "create"
)

// SchemeAnnotation on a MachinePool says whether its machinepoollet's
// console endpoint speaks "https" (the default, as upstream) or "http".
const SchemeAnnotation = "console.ironfed.dev/scheme"

// Path is where a machinepoollet serves the console of Machine ns/name (the
// path of upstream's machinepoollet server).
func Path(ns, name string) string {
	return "/apis/" + Group + "/namespaces/" + url.PathEscape(ns) + "/machines/" + url.PathEscape(name) + "/exec"
}

// Error is a resolution failure with the HTTP status a hop answers.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Resolve finds where the console of Machine key is served: the
// machinepoollet of the pool it is bound to. level names the cluster in
// errors ("root", "downstream cluster eu-1").
func Resolve(ctx context.Context, c client.Reader, key types.NamespacedName, level string) (*url.URL, error) {
	m := &computev1alpha1.Machine{}
	if err := c.Get(ctx, key, m); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Error{404, fmt.Sprintf("%s: machine %s not found", level, key)}
		}
		return nil, &Error{503, fmt.Sprintf("%s: reading machine %s: %v", level, key, err)}
	}
	if m.Status.State != computev1alpha1.MachineStateRunning {
		state := string(m.Status.State)
		if state == "" {
			state = "not yet reported"
		}
		return nil, &Error{409, fmt.Sprintf("%s: machine %s is not Running (state %s): its console opens once it runs", level, key, state)}
	}
	pool := m.Spec.MachinePoolRef.Name
	if pool == "" {
		return nil, &Error{409, fmt.Sprintf("%s: machine %s is not scheduled on a pool yet", level, key)}
	}
	p := &computev1alpha1.MachinePool{}
	if err := c.Get(ctx, types.NamespacedName{Name: pool}, p); err != nil {
		return nil, &Error{503, fmt.Sprintf("%s: reading machine pool %s of machine %s: %v", level, pool, key, err)}
	}
	base, err := Endpoint(p)
	if err != nil {
		return nil, &Error{503, fmt.Sprintf("%s: %v", level, err)}
	}
	base.Path = Path(key.Namespace, key.Name)
	return base, nil
}

// Endpoint is the base URL of pool's machinepoollet server, from its status
// (addresses and daemon endpoint, as upstream).
func Endpoint(p *computev1alpha1.MachinePool) (*url.URL, error) {
	port := p.Status.DaemonEndpoints.MachinepoolletEndpoint.Port
	if port == 0 {
		return nil, fmt.Errorf("machine pool %s advertises no console endpoint (its machinepoollet runs without --console-bind-address)", p.Name)
	}
	var host string
	for _, pref := range []computev1alpha1.MachinePoolAddressType{computev1alpha1.MachinePoolInternalIP, computev1alpha1.MachinePoolInternalDNS, computev1alpha1.MachinePoolHostName, computev1alpha1.MachinePoolExternalIP, computev1alpha1.MachinePoolExternalDNS} {
		for _, a := range p.Status.Addresses {
			if a.Type == pref && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, fmt.Errorf("machine pool %s advertises a console port but no address", p.Name)
	}
	scheme := "https"
	if p.Annotations[SchemeAnnotation] == "http" {
		scheme = "http"
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}, nil
}
