package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args ...string) *options {
	t.Helper()
	var o options
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &o
}

func TestConfig(t *testing.T) {
	if _, err := parse(t).config(); err == nil || !strings.Contains(err.Error(), "--machine-classes-file is required") {
		t.Errorf("no classes file: %v", err)
	}
	classes := filepath.Join(t.TempDir(), "classes.yaml")
	if err := os.WriteFile(classes, []byte("- {name: small, cpu: 1, memoryBytes: 134217728}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(t.TempDir(), "creds.json")
	if err := os.WriteFile(creds, []byte(`{"reg:5000": {"username": "u", "password": "p"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(t, "--machine-classes-file", classes, "--reserved-memory", "2Gi", "--domain-type", "qemu",
		"--insecure-registries", "reg:5000", "--registry-credentials-file", creds).config()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Classes) != 1 || cfg.Classes[0].CPU != 1 || cfg.ReservedMemoryBytes != 2<<30 || cfg.DomainType != "qemu" ||
		cfg.Registry.PlainHTTP[0] != "reg:5000" || cfg.Registry.Credentials["reg:5000"].Password != "p" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := parse(t, "--machine-classes-file", classes, "--exec-url", "http://x").config(); err == nil {
		t.Error("--exec-url without --exec-bind-address accepted")
	}
}
