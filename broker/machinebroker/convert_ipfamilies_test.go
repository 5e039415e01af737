// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package machinebroker

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestIPFamilies(t *testing.T) {
	for _, c := range []struct {
		ips  []string
		want []corev1.IPFamily
	}{
		{nil, []corev1.IPFamily{corev1.IPv4Protocol}},
		{[]string{"10.0.0.1"}, []corev1.IPFamily{corev1.IPv4Protocol}},
		{[]string{"fd00::1", "10.0.0.1", "fd00::2"}, []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}},
		{[]string{"::ffff:10.0.0.1"}, []corev1.IPFamily{corev1.IPv4Protocol}},
	} {
		if got := ipFamilies(c.ips); !slices.Equal(got, c.want) {
			t.Errorf("ipFamilies(%v) = %v, want %v", c.ips, got, c.want)
		}
	}
}
