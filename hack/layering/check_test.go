// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModule lays out a module named like ironfed whose packages import each other as files
// says (package dir -> imported paths), with a local stand-in for k8s.io/apimachinery.
func writeModule(t *testing.T, imports map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module github.com/ironfed/ironfed\n\ngo 1.26\n\nrequire k8s.io/apimachinery v0.0.0\n\nreplace k8s.io/apimachinery => ./fakek8s\n")
	write("fakek8s/go.mod", "module k8s.io/apimachinery\n\ngo 1.26\n")
	write("fakek8s/pkg/runtime/r.go", "package runtime\n")
	for pkg, imps := range imports {
		var b strings.Builder
		b.WriteString("package " + filepath.Base(pkg) + "\n\nimport (\n")
		for _, imp := range imps {
			b.WriteString("\t_ \"" + imp + "\"\n")
		}
		b.WriteString(")\n")
		write(filepath.Join(pkg, "p.go"), b.String())
	}
	return dir
}

const mod = "github.com/ironfed/ironfed/"

// TestDeliberateViolationsFail is the proof that `make lint` fails on a layering violation: the
// repository's own rules applied to a module with one violation of each kind.
func TestDeliberateViolationsFail(t *testing.T) {
	dir := writeModule(t, map[string][]string{
		"iri/remote":          {mod + "iri/labels"},
		"iri/labels":          {"k8s.io/apimachinery/pkg/runtime"}, // iri reaching Kubernetes, indirectly
		"test/framework":      nil,
		"cmd/ironfed":         {mod + "test/framework"}, // a binary importing test code
		"broker/common":       nil,
		"poollet/core":        {mod + "broker/common"}, // a component importing a sibling
		"federation/api":      nil,
		"federation/app":      nil,
		"poollet/machine":     {mod + "federation/api", mod + "federation/app"}, // allowed
		"federation/localfed": {mod + "poollet/core"},                           // allowed exception
	})
	got, err := Check(dir, rulesFile(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"github.com/ironfed/ironfed/cmd/ironfed must not depend on github.com/ironfed/ironfed/test/framework",
		"github.com/ironfed/ironfed/iri/labels must not depend on k8s.io/apimachinery/pkg/runtime",
		"github.com/ironfed/ironfed/iri/remote must not depend on k8s.io/apimachinery/pkg/runtime (github.com/ironfed/ironfed/iri/remote -> github.com/ironfed/ironfed/iri/labels -> k8s.io/apimachinery/pkg/runtime)",
		"github.com/ironfed/ironfed/poollet/core must not depend on github.com/ironfed/ironfed/broker/common",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("violation %d:\n got  %s\n want …%s…", i, got[i], want[i])
		}
	}
}

func TestCleanModulePasses(t *testing.T) {
	dir := writeModule(t, map[string][]string{
		"iri/remote":   {mod + "iri/labels"},
		"iri/labels":   nil,
		"poollet/core": {mod + "iri/remote"},
	})
	got, err := Check(dir, rulesFile(t))
	if err != nil || len(got) != 0 {
		t.Fatalf("Check = %v, %v; want no violations", got, err)
	}
}

func TestParseRulesRejectsMalformed(t *testing.T) {
	for _, in := range []string{"allow ./a -> ./b", "deny ./a ->", "deny -> ./b"} {
		if _, err := ParseRules(strings.NewReader(in)); err == nil {
			t.Errorf("ParseRules(%q) = nil error", in)
		}
	}
}

func rulesFile(t *testing.T) string {
	abs, err := filepath.Abs("rules.txt")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
