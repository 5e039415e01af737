// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package v1alpha1 contains the ironfed types of the ipam.ironcore.dev/v1alpha1 API group. ironfed
// allocates no prefixes; the Prefix kind exists, with IronCore's JSON, so that IronCore components
// that watch it (the machinepoollet) run against an ironfed cluster.
//
// +kubebuilder:object:generate=true
// +groupName=ipam.ironcore.dev
package v1alpha1
