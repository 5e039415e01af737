// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command layering checks the module's import graph against hack/layering/rules.txt using
// `go list`, and exits 1 naming every violation and the chain that causes it.
package main

import (
	"fmt"
	"os"
)

func main() {
	dir, rules := ".", "hack/layering/rules.txt"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if len(os.Args) > 2 {
		rules = os.Args[2]
	}
	violations, err := Check(dir, rules)
	if err != nil {
		fmt.Fprintln(os.Stderr, "layering:", err)
		os.Exit(2)
	}
	for _, v := range violations {
		fmt.Fprintln(os.Stderr, "layering:", v)
	}
	if len(violations) > 0 {
		fmt.Fprintf(os.Stderr, "layering: %d violation(s) of %s\n", len(violations), rules)
		os.Exit(1)
	}
}
