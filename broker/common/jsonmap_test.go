package common

import (
	"encoding/json"
	"maps"
	"testing"
)

// getJSON reads every annotation as json.Unmarshal does: the plain form json.Marshal writes by
// its own parser, the rest (escapes, whitespace, corrupted values) by encoding/json.
func TestGetJSONAsEncodingJSON(t *testing.T) {
	marshalled := func(m map[string]string) string {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, s := range []string{
		"", "{}", "null", "[]", "{", "}", `{"a"}`, `{"a":}`, `{"a":"b"`, `{"a":"b",}`, `{"a":"b"}x`, `x{"a":"b"}`,
		`{"a":"b"}`, `{"a":"b","c":""}`, `{"":""}`, `{"a":"b","a":"c"}`, `{ "a" : "b" }`, `{"a":1}`, `{"a":null}`,
		`{"a":"b\"c"}`, `{"a":"\u00e9"}`, `{"a":"é"}`, "{\"a\":\"\xff\"}", "{\"a\":\"\x01\"}", `{"a":{"b":"c"}}`,
		marshalled(map[string]string{"machinepoollet.ironcore.dev/machine-uid": "2f1c6a2e", "x/y": "<&>", "z": `"q"`}),
		marshalled(map[string]string{"a": "b", "c": "d", "e": "f", "g": "h", "i": "j", "k": "l", "m": "n", "o": "p", "q": "r"}),
	} {
		want := map[string]string{}
		if s != "" {
			_ = json.Unmarshal([]byte(s), &want)
		}
		got := getJSON(map[string]string{LabelsAnnotation: s}, LabelsAnnotation)
		if !maps.Equal(got, want) {
			t.Errorf("getJSON(%q) = %q, encoding/json reads %q", s, got, want)
		}
	}
}

// flatJSONHolds tells an annotation holding exactly a map, in json.Marshal's form, from anything
// else.
func TestFlatJSONHolds(t *testing.T) {
	m := map[string]string{"a": "b", "c": ""}
	for s, want := range map[string]bool{
		`{"a":"b","c":""}`: true, `{"c":"","a":"b"}`: true, `{"a":"b"}`: false, `{"a":"b","c":"","d":"e"}`: false,
		`{"a":"b","c":"","a":"b"}`: false, `{"a":"x","c":""}`: false, `{"a": "b","c":""}`: false, `{"a":"\u0062","c":""}`: false, "": false,
	} {
		if got := flatJSONHolds(s, m); got != want {
			t.Errorf("flatJSONHolds(%q, %v) = %v, want %v", s, m, got, want)
		}
	}
	if !flatJSONHolds("{}", nil) || flatJSONHolds("", nil) {
		t.Error(`flatJSONHolds("{}", nil) must hold, flatJSONHolds("", nil) not`)
	}
}

// FuzzGetJSON: for any annotation value getJSON reads what encoding/json reads, and a value the
// own parser accepts is walked alike by eachParsedFlatJSON; nothing panics on a downstream
// user's annotation. `go test` runs the seeds; `go test -fuzz FuzzGetJSON ./broker/common/`
// searches further.
func FuzzGetJSON(f *testing.F) {
	for _, s := range []string{"", "{}", `{"a":"b","c":""}`, `{"a":"b","a":"c"}`, `{ "a" : "b" }`, `{"a":"b\"c"}`,
		"{\"a\":\"\xff\"}", `{"a":"b",}`, `{"a":{"b":"c"}}`, `{"":""}`, `{"a":"b"}x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := map[string]string{}
		if s != "" {
			_ = json.Unmarshal([]byte(s), &want)
		}
		if got := getJSON(map[string]string{LabelsAnnotation: s}, LabelsAnnotation); !maps.Equal(got, want) {
			t.Fatalf("getJSON(%q) = %q, encoding/json reads %q", s, got, want)
		}
		parsed, ok := parseFlatJSON(s)
		walked := map[string]string{}
		eachParsedFlatJSON(s, func(k, v string) { walked[k] = v })
		if ok && !maps.Equal(parsed, walked) {
			t.Fatalf("eachParsedFlatJSON(%q) walks %q, parseFlatJSON read %q", s, walked, parsed)
		}
	})
}
