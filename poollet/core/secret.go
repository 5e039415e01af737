// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// AccessSecretName is the Secret holding an object's access credentials, e.g.
// "data-volume-access"; the kind keeps a Volume and a Bucket of one name apart.
func AccessSecretName(kind, name string) string { return name + "-" + kind + "-access" }

// EnsureSecret creates or updates a Secret owned by owner (deleted with it), so credentials
// never land in the object's status.
func EnsureSecret(ctx context.Context, c client.Client, owner client.Object, name string, data map[string][]byte) error {
	s := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}, s)
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: owner.GetNamespace(), Name: name}, Data: data}
		if err := controllerutil.SetControllerReference(owner, s, c.Scheme()); err != nil {
			return err
		}
		if err := c.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	if maps.EqualFunc(s.Data, data, func(a, b []byte) bool { return string(a) == string(b) }) {
		return nil
	}
	orig := s.DeepCopy()
	s.Data = data
	return c.Patch(ctx, s, client.MergeFrom(orig))
}
