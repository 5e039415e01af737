// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package api registers all of ironfed's IronCore-compatible API groups.
package api

import (
	"k8s.io/apimachinery/pkg/runtime"

	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	ipamv1alpha1 "github.com/ironfed/ironfed/federation/api/ipam/v1alpha1"
	networkingv1alpha1 "github.com/ironfed/ironfed/federation/api/networking/v1alpha1"
	storagev1alpha1 "github.com/ironfed/ironfed/federation/api/storage/v1alpha1"
)

// SchemeBuilder adds the compute, storage, networking and ipam groups to a scheme.
var SchemeBuilder = runtime.NewSchemeBuilder(
	computev1alpha1.AddToScheme,
	storagev1alpha1.AddToScheme,
	networkingv1alpha1.AddToScheme,
	ipamv1alpha1.AddToScheme,
)

// AddToScheme adds the compute, storage, networking and ipam groups to scheme.
var AddToScheme = SchemeBuilder.AddToScheme
