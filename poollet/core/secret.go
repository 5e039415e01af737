// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// HashedName is the first 63 hex characters of sha256(s): how upstream names the Secrets a
// poollet derives from an object (always a valid name, stable across restarts).
func HashedName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:63]
}

// EnsureSecret creates or updates a Secret owned by owner (deleted with it) and labelled with
// secretLabels (upstream labels it with the owner's poollet UID label), so credentials never
// land in the object's status.
func EnsureSecret(ctx context.Context, c client.Client, owner client.Object, name string, secretLabels map[string]string, data map[string][]byte) error {
	s := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}, s)
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: owner.GetNamespace(), Name: name, Labels: secretLabels}, Data: data}
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
