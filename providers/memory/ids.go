package memory

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// IDLength is the length of every id the provider mints: 63 lowercase hex
// characters, like upstream's runtimes, so an id is also a valid Kubernetes
// label value and DNS label.
const IDLength = 63

// newID returns a random id of IDLength hex characters (252 random bits).
func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux (Go >= 1.24 panics instead)
	return hex.EncodeToString(b[:])[:IDLength]
}

// ValidID reports whether id has the shape of an id minted here.
func ValidID(id string) bool {
	if len(id) != IDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkID validates an id given in a request; what names the field in the
// message (e.g. "machine_id").
func checkID(what, id string) error {
	if id == "" {
		return runtimeerr.Invalidf("%s is required", what)
	}
	if !ValidID(id) {
		return runtimeerr.Invalidf("%s %q is malformed: ids of this runtime are %d lowercase hex characters", what, truncate(id, 80), IDLength)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
