package framework

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// SchemaLocation is the kubeconform -schema-location template for the files WriteCRDSchemas
// writes into dir.
func SchemaLocation(dir string) string {
	return filepath.Join(dir, "{{ .Group }}", "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
}

// WriteCRDSchemas writes a JSON schema per CRD version into dir, offline, for kubeconform: the
// CRD's structural schema with additionalProperties false wherever it lists properties and does not
// preserve unknown fields, so a misspelt field fails as it would on the apiserver.
func WriteCRDSchemas(dir string, crds []*apiextensionsv1.CustomResourceDefinition) error {
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				return fmt.Errorf("%s %s has no schema", crd.Name, v.Name)
			}
			raw, err := json.Marshal(v.Schema.OpenAPIV3Schema)
			if err != nil {
				return err
			}
			var schema map[string]any
			if err := json.Unmarshal(raw, &schema); err != nil {
				return err
			}
			closeObjects(schema)
			out, err := json.MarshalIndent(schema, "", "  ")
			if err != nil {
				return err
			}
			path := filepath.Join(dir, crd.Spec.Group, strings.ToLower(crd.Spec.Names.Kind)+"_"+v.Name+".json")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, out, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func closeObjects(s map[string]any) {
	if props, ok := s["properties"].(map[string]any); ok {
		if _, set := s["additionalProperties"]; !set && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				closeObjects(m)
			}
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if m, ok := s[key].(map[string]any); ok {
			closeObjects(m)
		}
	}
	for _, key := range []string{"anyOf", "allOf", "oneOf"} {
		if l, ok := s[key].([]any); ok {
			for _, e := range l {
				if m, ok := e.(map[string]any); ok {
					closeObjects(m)
				}
			}
		}
	}
}
