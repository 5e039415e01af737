// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package core

import "reflect"

// statusOf returns the Status field of one of our API objects.
func statusOf(obj any) any {
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	f := v.FieldByName("Status")
	if !f.IsValid() {
		return nil
	}
	return f.Interface()
}
