package objstore

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// IDLength is the length of every id the runtimes mint: 63 lowercase hex
// characters, a valid Kubernetes label value, DNS label and S3 bucket name.
const IDLength = 63

// NewID returns a random id of IDLength hex characters.
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])[:IDLength]
}

// ValidID reports whether id has the shape of an id minted here.
func ValidID(id string) bool {
	if len(id) != IDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckID validates an id given in a request; field names it ("volume_id").
func CheckID(field, id string) error {
	if id == "" {
		return runtimeerr.Invalidf("%s is required", field)
	}
	if !ValidID(id) {
		if len(id) > 80 {
			id = id[:80] + "..."
		}
		return runtimeerr.Invalidf("%s %q is malformed: ids of this runtime are %d lowercase hex characters", field, id, IDLength)
	}
	return nil
}
