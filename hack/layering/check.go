// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Rule forbids packages matching From to depend on packages matching To, unless they match Except.
type Rule struct {
	Line             int
	From, To, Except []string
}

// Package is what `go list` says of one package of the module.
type Package struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// ParseRules reads the rules file format (see rules.txt).
func ParseRules(r io.Reader) ([]Rule, error) {
	var rules []Rule
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] != "deny" {
			return nil, fmt.Errorf("line %d: want \"deny FROM... -> TO... [except ...]\", got %q", n, sc.Text())
		}
		rule, part := Rule{Line: n}, 0
		for _, w := range f[1:] {
			switch {
			case w == "->" && part == 0:
				part = 1
			case w == "except" && part == 1:
				part = 2
			case part == 0:
				rule.From = append(rule.From, w)
			case part == 1:
				rule.To = append(rule.To, w)
			default:
				rule.Except = append(rule.Except, w)
			}
		}
		if len(rule.From) == 0 || len(rule.To) == 0 {
			return nil, fmt.Errorf("line %d: a rule needs packages on both sides of ->", n)
		}
		rules = append(rules, rule)
	}
	return rules, sc.Err()
}

// matches reports whether pkg matches pattern; ./ patterns are relative to module.
func matches(pattern, module, pkg string) bool {
	if rest, ok := strings.CutPrefix(pattern, "./"); ok {
		pattern = module + "/" + rest
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchesAny(patterns []string, module, pkg string) bool {
	for _, p := range patterns {
		if matches(p, module, pkg) {
			return true
		}
	}
	return false
}

// Violations applies rules to the module's packages. Each violation names the rule's line and
// one import chain from the offending package to the forbidden one.
func Violations(module string, pkgs []Package, rules []Rule) []string {
	byPath := map[string]Package{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	var out []string
	for _, r := range rules {
		for _, p := range pkgs {
			if !matchesAny(r.From, module, p.ImportPath) || matchesAny(r.Except, module, p.ImportPath) {
				continue
			}
			for _, d := range p.Deps {
				if matchesAny(r.To, module, d) && !matchesAny(r.Except, module, d) {
					out = append(out, fmt.Sprintf("%s must not depend on %s (%s) [rules line %d]", p.ImportPath, d, strings.Join(chain(byPath, p.ImportPath, d), " -> "), r.Line))
					break // one per package and rule is enough to act on
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// chain finds an import path from 'from' to 'to' through the module's packages (breadth first);
// external packages are leaves.
func chain(byPath map[string]Package, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for ; cur != ""; cur = prev[cur] {
				path = append([]string{cur}, path...)
			}
			return path
		}
		for _, next := range byPath[cur].Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return []string{from, "...", to}
}

// Check lists the module in dir with `go list` and applies the rules file.
func Check(dir, rulesPath string) ([]string, error) {
	f, err := os.Open(rulesPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rules, err := ParseRules(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rulesPath, err)
	}
	module, err := goList(dir, "-m", "-f", "{{.Path}}")
	if err != nil {
		return nil, err
	}
	out, err := goList(dir, "-e", "-json=ImportPath,Imports,Deps", "./...")
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return Violations(strings.TrimSpace(string(module)), pkgs, rules), nil
}

func goList(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}
