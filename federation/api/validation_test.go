// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/ironfed/ironfed/federation/api/crds"
)

// crdSchema runs, without an apiserver, the steps the apiserver applies to a
// custom resource: pruning, defaulting, OpenAPI validation, list-type
// validation and CEL rules.
type crdSchema struct {
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

func loadSchemas(t *testing.T) map[string]*crdSchema {
	t.Helper()
	list, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*crdSchema{}
	for _, crd := range list {
		v1props := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		props := &apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1props, props, nil); err != nil {
			t.Fatal(err)
		}
		s, err := structuralschema.NewStructural(props)
		if err != nil {
			t.Fatalf("%s: %v", crd.Name, err)
		}
		validator, _, err := apiservervalidation.NewSchemaValidator(props)
		if err != nil {
			t.Fatalf("%s: %v", crd.Name, err)
		}
		out[crd.Spec.Names.Kind] = &crdSchema{
			structural: s,
			validator:  validator,
			cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
		}
	}
	return out
}

func toMap(t *testing.T, doc string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// validate validates obj (and, for updates, against old) like the apiserver
// does and returns the pruned fields and validation errors.
func (s *crdSchema) validate(obj, old map[string]any) (pruned []string, errs field.ErrorList) {
	pruned = pruning.PruneWithOptions(obj, s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	defaulting.PruneNonNullableNullsWithoutDefaults(obj, s.structural)
	defaulting.Default(obj, s.structural)
	if old == nil {
		errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, s.validator)...)
	} else {
		errs = append(errs, apiservervalidation.ValidateCustomResourceUpdate(nil, obj, old, s.validator)...)
	}
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s.structural, obj)...)
	if s.cel != nil {
		var oldObj any
		if old != nil {
			oldObj = old
		}
		celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, oldObj, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return pruned, errs
}

// TestFixturesMatchCRDs checks that every fully populated fixture survives the
// apiserver's pruning untouched (the CRD schema covers every field the Go
// types carry) and passes validation.
func TestFixturesMatchCRDs(t *testing.T) {
	schemas := loadSchemas(t)
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			obj := toMap(t, f.doc)
			s := schemas[obj["kind"].(string)]
			if s == nil {
				t.Fatalf("no CRD for kind %v", obj["kind"])
			}
			pruned, errs := s.validate(obj, nil)
			if len(pruned) > 0 {
				t.Errorf("pruned fields: %v", pruned)
			}
			for _, e := range errs {
				t.Errorf("validation error: %v", e)
			}

			// The same for the JSON our Go types produce.
			decodeStrict(t, f.doc, f.obj)
			out, err := json.Marshal(f.obj)
			if err != nil {
				t.Fatal(err)
			}
			obj = toMap(t, string(out))
			pruned, errs = s.validate(obj, nil)
			if len(pruned) > 0 {
				t.Errorf("typed: pruned fields: %v", pruned)
			}
			for _, e := range errs {
				t.Errorf("typed: validation error: %v", e)
			}
		})
	}
}

func TestMachinePowerDefaultsToOn(t *testing.T) {
	s := loadSchemas(t)["Machine"]
	obj := toMap(t, `{"apiVersion":"compute.ironcore.dev/v1alpha1","kind":"Machine","metadata":{"name":"m"},"spec":{"machineClassRef":{"name":"c"}}}`)
	if _, errs := s.validate(obj, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := obj["spec"].(map[string]any)["power"]; got != "On" {
		t.Errorf("power defaulted to %v, want On", got)
	}
}

// TestValidationRejects checks that invalid objects are rejected with a
// message naming the problem.
func TestValidationRejects(t *testing.T) {
	schemas := loadSchemas(t)
	cases := []struct {
		name      string
		kind      string
		old, obj  string // spec JSON
		wantError string // substring of the error list; empty means valid
	}{
		// Machine
		{name: "machine minimal", kind: "Machine", obj: `{"machineClassRef":{"name":"c"}}`},
		{name: "machine without class", kind: "Machine", obj: `{}`, wantError: "spec.machineClassRef: Required value"},
		{name: "machine with empty class name", kind: "Machine", obj: `{"machineClassRef":{"name":""}}`, wantError: "spec.machineClassRef.name"},
		{name: "machine with bad power", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"power":"Standby"}`, wantError: `spec.power: Unsupported value: "Standby"`},
		{name: "nic without source", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"networkInterfaces":[{"name":"a"}]}`, wantError: "exactly one of networkInterfaceRef or ephemeral must be set"},
		{name: "nic with two sources", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"networkInterfaces":[{"name":"a","networkInterfaceRef":{"name":"n"},"ephemeral":{"networkInterfaceTemplate":{"spec":{"networkRef":{"name":"net"}}}}}]}`, wantError: "exactly one of networkInterfaceRef or ephemeral must be set"},
		{name: "nic template without network", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"networkInterfaces":[{"name":"a","ephemeral":{"networkInterfaceTemplate":{"spec":{}}}}]}`, wantError: "networkRef: Required value"},
		{name: "ephemeral nic without template", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"networkInterfaces":[{"name":"a","ephemeral":{}}]}`, wantError: "networkInterfaceTemplate: Required value"},
		{name: "duplicate nic names", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"networkInterfaces":[{"name":"a","networkInterfaceRef":{"name":"n1"}},{"name":"a","networkInterfaceRef":{"name":"n2"}}]}`, wantError: "Duplicate value"},
		{name: "volume without source", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"v"}]}`, wantError: "exactly one of volumeRef, emptyDisk, localDisk or ephemeral must be set"},
		{name: "volume with two sources", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"v","volumeRef":{"name":"x"},"emptyDisk":{}}]}`, wantError: "exactly one of volumeRef, emptyDisk, localDisk or ephemeral must be set"},
		{name: "duplicate volume names", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"v","volumeRef":{"name":"x"}},{"name":"v","volumeRef":{"name":"y"}}]}`, wantError: "Duplicate value"},
		{name: "duplicate volume devices", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"v","device":"oda","volumeRef":{"name":"x"}},{"name":"w","device":"oda","volumeRef":{"name":"y"}}]}`, wantError: "volume devices must be unique"},
		{name: "invalid volume name", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"Root_Disk","volumeRef":{"name":"x"}}]}`, wantError: "spec.volumes[0].name"},
		{name: "bad sizeLimit", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"v","emptyDisk":{"sizeLimit":"lots"}}]}`, wantError: "sizeLimit"},
		{name: "ephemeral volume without storage", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"v","ephemeral":{"volumeTemplate":{"spec":{"volumeClassRef":{"name":"fast"}}}}}]}`, wantError: "resources.storage is required when volumeClassRef is set"},
		{name: "ephemeral volume with claimRef", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"volumes":[{"name":"v","ephemeral":{"volumeTemplate":{"spec":{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"},"claimRef":{"name":"m","uid":"u"}}}}}]}`, wantError: "volumeTemplate must not set claimRef or unclaimable"},
		{name: "bad toleration operator", kind: "Machine", obj: `{"machineClassRef":{"name":"c"},"tolerations":[{"key":"k","operator":"In"}]}`, wantError: `Unsupported value: "In"`},
		{name: "machine class change", kind: "Machine", old: `{"machineClassRef":{"name":"c"}}`, obj: `{"machineClassRef":{"name":"d"}}`, wantError: "machineClassRef is immutable"},
		{name: "machine pool set", kind: "Machine", old: `{"machineClassRef":{"name":"c"}}`, obj: `{"machineClassRef":{"name":"c"},"machinePoolRef":{"name":"p"}}`},
		{name: "machine pool change", kind: "Machine", old: `{"machineClassRef":{"name":"c"},"machinePoolRef":{"name":"p"}}`, obj: `{"machineClassRef":{"name":"c"},"machinePoolRef":{"name":"q"}}`, wantError: "machinePoolRef cannot be changed once set"},
		{name: "machine pool unset", kind: "Machine", old: `{"machineClassRef":{"name":"c"},"machinePoolRef":{"name":"p"}}`, obj: `{"machineClassRef":{"name":"c"}}`, wantError: "machinePoolRef cannot be changed once set"},
		{name: "machine power change", kind: "Machine", old: `{"machineClassRef":{"name":"c"},"machinePoolRef":{"name":"p"}}`, obj: `{"machineClassRef":{"name":"c"},"machinePoolRef":{"name":"p"},"power":"Off"}`},

		// Volume
		{name: "volume minimal", kind: "Volume", obj: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"}}`},
		{name: "classless volume", kind: "Volume", obj: `{}`},
		{name: "volume without storage", kind: "Volume", obj: `{"volumeClassRef":{"name":"fast"},"resources":{"iops":"100"}}`, wantError: "resources.storage is required when volumeClassRef is set"},
		{name: "classless volume with pool", kind: "Volume", obj: `{"volumePoolRef":{"name":"p"}}`, wantError: "volumePoolRef, volumePoolSelector, resources and tolerations require volumeClassRef"},
		{name: "unclaimable volume with claim", kind: "Volume", obj: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"},"unclaimable":true,"claimRef":{"name":"m","uid":"u"}}`, wantError: "claimRef must not be set on an unclaimable volume"},
		{name: "volume with two data sources", kind: "Volume", obj: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"},"dataSource":{"volumeSnapshotRef":{"name":"s"},"osImage":{"image":"i"}}}`, wantError: "at most one of volumeSnapshotRef or osImage may be set"},
		{name: "volume class change", kind: "Volume", old: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"}}`, obj: `{"volumeClassRef":{"name":"slow"},"resources":{"storage":"1Gi"}}`, wantError: "volumeClassRef is immutable"},
		{name: "volume resize", kind: "Volume", old: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"}}`, obj: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"2Gi"}}`},
		{name: "volume pool change", kind: "Volume", old: `{"volumeClassRef":{"name":"fast"},"volumePoolRef":{"name":"p"},"resources":{"storage":"1Gi"}}`, obj: `{"volumeClassRef":{"name":"fast"},"volumePoolRef":{"name":"q"},"resources":{"storage":"1Gi"}}`, wantError: "volumePoolRef cannot be changed once set"},
		{name: "volume encryption change", kind: "Volume", old: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"}}`, obj: `{"volumeClassRef":{"name":"fast"},"resources":{"storage":"1Gi"},"encryption":{"secretRef":{"name":"k"}}}`, wantError: "encryption is immutable"},

		// Bucket
		{name: "bucket minimal", kind: "Bucket", obj: `{"bucketClassRef":{"name":"std"}}`},
		{name: "classless bucket with pool", kind: "Bucket", obj: `{"bucketPoolRef":{"name":"p"}}`, wantError: "bucketPoolRef, bucketPoolSelector and tolerations require bucketClassRef"},
		{name: "bucket class change", kind: "Bucket", old: `{"bucketClassRef":{"name":"std"}}`, obj: `{"bucketClassRef":{"name":"cold"}}`, wantError: "bucketClassRef is immutable"},
		{name: "bucket pool change", kind: "Bucket", old: `{"bucketClassRef":{"name":"std"},"bucketPoolRef":{"name":"p"}}`, obj: `{"bucketClassRef":{"name":"std"},"bucketPoolRef":{"name":"q"}}`, wantError: "bucketPoolRef cannot be changed once set"},

		// Pools and classes
		{name: "pool taint without effect", kind: "MachinePool", obj: `{"taints":[{"key":"k"}]}`, wantError: "spec.taints[0].effect: Required value"},
		{name: "pool taint with bad effect", kind: "VolumePool", obj: `{"taints":[{"key":"k","effect":"PreferNoSchedule"}]}`, wantError: `Unsupported value: "PreferNoSchedule"`},

		// NetworkInterface
		{name: "nic ip with two sources", kind: "NetworkInterface", obj: `{"networkRef":{"name":"n"},"ips":[{"value":"10.0.0.1","ephemeral":{}}]}`, wantError: "exactly one of value or ephemeral must be set"},
		{name: "nic with bad ip family", kind: "NetworkInterface", obj: `{"networkRef":{"name":"n"},"ipFamilies":["IPv5"]}`, wantError: `Unsupported value: "IPv5"`},
	}

	groups := map[string]string{
		"Machine": "compute.ironcore.dev/v1alpha1", "MachinePool": "compute.ironcore.dev/v1alpha1",
		"Volume": "storage.ironcore.dev/v1alpha1", "VolumePool": "storage.ironcore.dev/v1alpha1", "Bucket": "storage.ironcore.dev/v1alpha1",
		"NetworkInterface": "networking.ironcore.dev/v1alpha1",
	}
	wrap := func(kind, spec string) map[string]any {
		return toMap(t, `{"apiVersion":"`+groups[kind]+`","kind":"`+kind+`","metadata":{"name":"x","namespace":"default"},"spec":`+spec+`}`)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := schemas[c.kind]
			var old map[string]any
			if c.old != "" {
				old = wrap(c.kind, c.old)
				if _, errs := s.validate(old, nil); len(errs) > 0 {
					t.Fatalf("old object invalid: %v", errs)
				}
			}
			_, errs := s.validate(wrap(c.kind, c.obj), old)
			got := errs.ToAggregate()
			switch {
			case c.wantError == "" && got != nil:
				t.Errorf("unexpected errors: %v", got)
			case c.wantError != "" && got == nil:
				t.Errorf("accepted, want error containing %q", c.wantError)
			case c.wantError != "" && !strings.Contains(got.Error(), c.wantError):
				t.Errorf("errors %q lack %q", got, c.wantError)
			}
		})
	}
}
