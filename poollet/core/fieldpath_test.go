// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFieldPathValue(t *testing.T) {
	obj := &metav1.ObjectMeta{Name: "m", Namespace: "ns", UID: "u1",
		Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"example.com/team": "blue", "a": "x"}}
	for path, want := range map[string]string{
		"metadata.name":                            "m",
		"metadata.namespace":                       "ns",
		"metadata.uid":                             "u1",
		"metadata.labels['app']":                   "web",
		"metadata.labels['missing']":               "",
		"metadata.annotations['example.com/team']": "blue",
		"metadata.annotations":                     "a=\"x\"\nexample.com/team=\"blue\"\n",
	} {
		if got, err := fieldPathValue(obj, path); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"spec.power", "metadata.generation", "metadata.spec['x']", "metadata.labels[app]", ""} {
		if _, err := fieldPathValue(obj, path); err == nil {
			t.Errorf("%q: no error", path)
		}
	}
	o := DefaultOptions()
	o.Pool.Name = "p"
	o.DownwardAPI.Annotations = map[string]string{"x": "spec.power"}
	if err := o.Validate(); err == nil {
		t.Error("Validate accepted an unsupported downward-API field path")
	}
}
