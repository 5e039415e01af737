package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, k := range []struct{ endpoint, want string }{
		{"http://127.0.0.1:7480", ""},
		{"", "--rgw-endpoint"},
		{"127.0.0.1:7480", "--rgw-endpoint"},
		{"ftp://x", "--rgw-endpoint"},
	} {
		o := options{rgwEndpoint: k.endpoint}
		err := o.validate()
		if (k.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), k.want)) {
			t.Errorf("validate(%q) = %v, want %q", k.endpoint, err, k.want)
		}
	}
}

func TestAdminCredentials(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(good, []byte(`{"accessKey":"AK","secretKey":"SK"}`), 0o600)
	_ = os.WriteFile(bad, []byte(`{"accessKey":"AK"}`), 0o600)
	if ak, sk, err := adminCredentials(good); err != nil || ak != "AK" || sk != "SK" {
		t.Errorf("good file: %q %q %v", ak, sk, err)
	}
	if _, _, err := adminCredentials(bad); err == nil {
		t.Error("a file without secretKey was accepted")
	}
	t.Setenv("RGW_ADMIN_ACCESS_KEY", "")
	if _, _, err := adminCredentials(""); err == nil || !strings.Contains(err.Error(), "RGW_ADMIN_ACCESS_KEY") {
		t.Errorf("no file, no env: %v", err)
	}
	t.Setenv("RGW_ADMIN_ACCESS_KEY", "EA")
	t.Setenv("RGW_ADMIN_SECRET_KEY", "ES")
	if ak, sk, err := adminCredentials(""); err != nil || ak != "EA" || sk != "ES" {
		t.Errorf("env: %q %q %v", ak, sk, err)
	}
}
