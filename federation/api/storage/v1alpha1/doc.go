// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package v1alpha1 contains the ironfed types of the storage.ironcore.dev/v1alpha1
// API group. Their JSON is IronCore's, so ironfed objects and IronCore
// components interoperate; fields IronCore has that ironfed does not carry yet
// are left out, and ironfed's additions are marked as such.
//
// +kubebuilder:object:generate=true
// +groupName=storage.ironcore.dev
package v1alpha1
