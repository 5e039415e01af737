// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package v1alpha1 holds the types shared by ironfed's compute, storage and
// networking APIs: references, taints and tolerations, resource lists and the
// condition vocabulary.
//
// IronCore splits these into its common.ironcore.dev and core.ironcore.dev
// groups. ironfed keeps them in one Go package that has no API group of its
// own; only the JSON shape matters, and it is identical to IronCore's.
//
// +kubebuilder:object:generate=true
package v1alpha1
