package main

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	for _, k := range []struct {
		name   string
		mutate func(*options)
		want   string
	}{
		{"ok", func(*options) {}, ""},
		{"no monitors", func(o *options) { o.ceph.monitors = "" }, "--ceph-monitors is required"},
		{"no pool", func(o *options) { o.pool = "" }, "--pool"},
		{"negative sweep", func(o *options) { o.sweepInterval = -time.Second }, "--sweep-interval"},
	} {
		t.Run(k.name, func(t *testing.T) {
			o := options{pool: "rbd"}
			o.ceph.monitors = "127.0.0.1:6789"
			k.mutate(&o)
			err := o.validate()
			if (k.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), k.want)) {
				t.Errorf("validate() = %v, want %q", err, k.want)
			}
		})
	}
}
