package common

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"k8s.io/apimachinery/pkg/util/validation"
)

// IDLength is the length of the ids a broker mints: lowercase hex.
const IDLength = 32

// NewID mints a random id; it is also the downstream object's name.
func NewID() string {
	b := make([]byte, IDLength/2)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// ValidID says whether id has the shape of an id this broker mints.
func ValidID(id string) bool {
	if len(id) != IDLength {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckID returns InvalidArgument for an empty or malformed id.
func CheckID(what, id string) error {
	if id == "" {
		return Invalidf("%s is required", what)
	}
	if !ValidID(id) {
		if len(id) > 80 {
			id = id[:80] + "..."
		}
		return NotFoundf("%s %q does not exist: ids of this broker are %d lowercase hex characters", what, id, IDLength)
	}
	return nil
}

// SubName names a sub-object of the object id that stands for the IRI
// element name (a volume or network interface): "<id>-<name>" when that is a
// valid DNS label, else "<id>-<hash of name>".
func SubName(id, name string) string {
	n := id + "-" + name
	if len(validation.IsDNS1123Label(n)) == 0 {
		return n
	}
	h := sha256.Sum256([]byte(name))
	return id + "-x" + hex.EncodeToString(h[:8])
}
