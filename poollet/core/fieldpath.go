// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fieldPathValue resolves a downward-API field path against obj's metadata, the subset
// upstream's (kubectl's) fieldpath.ExtractFieldPathAsString supports for any object:
// metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'],
// metadata.annotations['k'] (a missing key is ""), metadata.labels, metadata.annotations.
func fieldPathValue(obj metav1.Object, path string) (string, error) {
	if m, key, ok := subscript(path); ok {
		switch m {
		case "metadata.labels":
			return obj.GetLabels()[key], nil
		case "metadata.annotations":
			return obj.GetAnnotations()[key], nil
		}
		return "", fmt.Errorf("unsupported subscripted field path %q", path)
	}
	switch path {
	case "metadata.name":
		return obj.GetName(), nil
	case "metadata.namespace":
		return obj.GetNamespace(), nil
	case "metadata.uid":
		return string(obj.GetUID()), nil
	case "metadata.labels":
		return formatMap(obj.GetLabels()), nil
	case "metadata.annotations":
		return formatMap(obj.GetAnnotations()), nil
	}
	return "", fmt.Errorf("unsupported field path %q", path)
}

// subscript splits "metadata.labels['k']" into "metadata.labels" and "k".
func subscript(path string) (string, string, bool) {
	i := strings.Index(path, "['")
	if i < 0 || !strings.HasSuffix(path, "']") || i+2 > len(path)-2 {
		return "", "", false
	}
	return path[:i], path[i+2 : len(path)-2], true
}

// formatMap renders a map as kubectl's fieldpath does: sorted k="v" lines.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return b.String()
}
