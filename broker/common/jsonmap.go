package common

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The IRI labels and annotations are kept downstream as JSON objects of strings (setJSON), read
// at every conversion and label-selector match. getJSON reads the form json.Marshal writes
// ({"k":"v",...}, no whitespace, no escapes) without encoding/json, whose reflection made half the
// garbage of a conversion (docs/performance.md): the map is sized once and its strings are
// substrings of the annotation. Anything else (an escape, whitespace, a corrupted annotation)
// goes to json.Unmarshal, so both read the same.

// getJSON returns the string map in the JSON annotation key of from (empty when absent or
// corrupted).
func getJSON(from map[string]string, key string) map[string]string {
	s := from[key]
	if m, ok := parseFlatJSON(s); ok {
		return m
	}
	out := map[string]string{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &out) // a corrupted annotation reads as empty
	}
	return out
}

// parseFlatJSON parses s when it is a JSON object of plain strings as json.Marshal writes it;
// ok is false for anything else.
func parseFlatJSON(s string) (m map[string]string, ok bool) {
	// Every entry is "k":"v": 4 quotes.
	m = make(map[string]string, (strings.Count(s, `"`)+1)/4)
	if !flatJSON(s, func(k, v string) { m[k] = v }) {
		return nil, false
	}
	return m, true
}

// flatJSONHolds says whether s is a JSON object of plain strings as json.Marshal writes it
// holding exactly m, each key once.
func flatJSONHolds(s string, m map[string]string) bool {
	n, same := 0, true
	ok := flatJSON(s, func(k, v string) {
		got, found := m[k]
		same = same && found && got == v
		n++
	})
	return ok && same && n == len(m)
}

// flatJSON calls fn with each key and value of s, in order, and says whether s is a JSON object
// of plain strings as json.Marshal writes it (when not, fn may have been called for a part).
func flatJSON(s string, fn func(k, v string)) bool {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return false
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return true
	}
	for {
		k, rest, ok := plainString(body)
		if !ok || rest == "" || rest[0] != ':' {
			return false
		}
		v, rest, ok := plainString(rest[1:])
		if !ok {
			return false
		}
		fn(k, v)
		if rest == "" {
			return true
		}
		if rest[0] != ',' {
			return false
		}
		body = rest[1:]
	}
}

// plainString reads a JSON string without escapes at the start of s: its content and the rest.
func plainString(s string) (str, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	str = s[1 : 1+end]
	if strings.IndexByte(str, '\\') >= 0 {
		return "", "", false
	}
	for i := 0; i < len(str); i++ {
		if str[i] < 0x20 {
			return "", "", false
		}
	}
	return str, s[2+end:], utf8.ValidString(str)
}

// eachParsedFlatJSON calls fn with each key and value of s, which parseFlatJSON parsed before:
// it only looks for the quotes (and stops at anything unexpected instead of failing).
func eachParsedFlatJSON(s string, fn func(k, v string)) {
	if len(s) < 2 {
		return
	}
	s = s[1 : len(s)-1]
	for len(s) > 1 {
		k := strings.IndexByte(s[1:], '"') + 1 // s is "k":"v",...
		if k <= 0 || k+3 > len(s) {
			return
		}
		key, rest := s[1:k], s[k+3:]
		v := strings.IndexByte(rest, '"')
		if v < 0 {
			return
		}
		fn(key, rest[:v])
		s = rest[v+1:]
		if s != "" {
			s = s[1:]
		}
	}
}
