// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package admission embeds the admission policies that give ironfed's CRDs IronCore's admission
// behaviour where CRD schemas cannot: Machine volume devices assigned on admission
// (MutatingAdmissionPolicy) and Volume size bounds (ValidatingAdmissionPolicy). They need
// kube-apiserver >= 1.36 (admissionregistration.k8s.io/v1 for both kinds).
package admission

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/federation/api"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

//go:embed *.yaml
var manifests embed.FS

// Objects decodes the embedded policies and their bindings, policies first.
func Objects() ([]client.Object, error) {
	scheme := runtime.NewScheme()
	if err := admissionregistrationv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	names, err := fs.Glob(manifests, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var policies, bindings []client.Object
	for _, name := range names {
		data, err := manifests.ReadFile(name)
		if err != nil {
			return nil, err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj, _, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			switch o := obj.(type) {
			case *admissionregistrationv1.MutatingAdmissionPolicyBinding, *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
				bindings = append(bindings, o.(client.Object))
			default:
				policies = append(policies, o.(client.Object))
			}
		}
	}
	return append(policies, bindings...), nil
}

// Install creates or updates the policies and bindings in the cluster of cfg and waits until the
// apiserver enforces them (policies take effect asynchronously): a dry-run Machine gets its
// volume device, a dry-run oversized Volume is refused and a dry-run NetworkInterface gets its IP families.
func Install(ctx context.Context, cfg *rest.Config) error {
	objs, err := Objects()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := admissionregistrationv1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := api.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	for _, o := range objs {
		err := c.Create(ctx, o)
		if apierrors.IsAlreadyExists(err) {
			existing := o.DeepCopyObject().(client.Object)
			if err = c.Get(ctx, client.ObjectKeyFromObject(o), existing); err == nil {
				o.SetResourceVersion(existing.GetResourceVersion())
				err = c.Update(ctx, o)
			}
		}
		if err != nil {
			return fmt.Errorf("install admission policy %s: %w", o.GetName(), err)
		}
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		m := &computev1alpha1.Machine{
			ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "admission-probe"},
			Spec: computev1alpha1.MachineSpec{
				MachineClassRef: commonv1alpha1.LocalObjectReference{Name: "probe"},
				Volumes:         []computev1alpha1.Volume{{Name: "probe", VolumeSource: computev1alpha1.VolumeSource{EmptyDisk: &computev1alpha1.EmptyDiskVolumeSource{}}}},
			},
		}
		if err := c.Create(ctx, m, client.DryRunAll); err != nil {
			last = "dry-run Machine: " + err.Error()
			return false, nil
		}
		if m.Spec.Volumes[0].Device == nil {
			last = "dry-run Machine got no volume device"
			return false, nil
		}
		v := &storagev1alpha1.Volume{
			ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "admission-probe"},
			Spec: storagev1alpha1.VolumeSpec{Resources: commonv1alpha1.ResourceList{
				commonv1alpha1.ResourceStorage: *resource.NewQuantity(2*storagev1alpha1.MaxVolumeBytes, resource.BinarySI)}},
		}
		if err := c.Create(ctx, v, client.DryRunAll); !apierrors.IsInvalid(err) {
			last = fmt.Sprintf("dry-run oversized Volume: %v, want Invalid", err)
			return false, nil
		}
		// Each policy is enforced per kind: until the apiserver's type checker knows the CRD it
		// answers 503 "Resource kind ... not found" for that kind alone.
		ip := commonv1alpha1.IP("192.0.2.1")
		nic := &networkingv1alpha1.NetworkInterface{
			ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "admission-probe"},
			Spec: networkingv1alpha1.NetworkInterfaceSpec{
				NetworkRef: commonv1alpha1.LocalObjectReference{Name: "probe"},
				IPs:        []networkingv1alpha1.IPSource{{Value: &ip}},
			},
		}
		if err := c.Create(ctx, nic, client.DryRunAll); err != nil {
			last = "dry-run NetworkInterface: " + err.Error()
			return false, nil
		}
		if len(nic.Spec.IPFamilies) != 1 {
			last = fmt.Sprintf("dry-run NetworkInterface got ipFamilies %v, want [IPv4]", nic.Spec.IPFamilies)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("admission policies not enforced after a minute: %s", last)
	}
	return nil
}
