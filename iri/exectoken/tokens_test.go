package exectoken

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	now := time.Unix(1000, 0)
	tk := NewTokens("http://x/", 0)
	tk.SetClock(func() time.Time { return now })
	u := tk.Issue("m1")
	if !strings.HasPrefix(u, "http://x/exec/") || len(u) != len("http://x/exec/")+48 {
		t.Fatalf("url %q", u)
	}
	tok := strings.TrimPrefix(u, "http://x/exec/")
	want := func(tok string, status int, msg string) {
		t.Helper()
		_, err := tk.Redeem(tok)
		var re *RedeemError
		if !errors.As(err, &re) || re.Status != status || !strings.Contains(re.Msg, msg) {
			t.Errorf("redeem: %v, want %d %q", err, status, msg)
		}
	}
	if got, err := tk.Redeem(tok); err != nil || got != "m1" {
		t.Fatalf("first use: %q %v", got, err)
	}
	want(tok, http.StatusGone, "already used")
	want("nope", http.StatusNotFound, "unknown exec token")
	tok2 := strings.TrimPrefix(tk.Issue("m2"), "http://x/exec/")
	now = now.Add(DefaultTokenTTL + time.Second)
	want(tok2, http.StatusGone, "expired")
	now = now.Add(tokenRetention + time.Minute)
	tk.Issue("m3") // sweeps what is past retention
	want(tok2, http.StatusNotFound, "unknown exec token")
}
