package objstore

import "github.com/ironfed/ironfed/iri/runtimeid"

// IDLength is the length of every id the runtimes mint (iri/runtimeid).
const IDLength = runtimeid.Length

// NewID returns a random id.
func NewID() string { return runtimeid.New() }

// ValidID reports whether id has the shape of a minted id.
func ValidID(id string) bool { return runtimeid.Valid(id) }

// CheckID validates an id given in a request; field names it ("volume_id").
func CheckID(field, id string) error { return runtimeid.Check(field, id) }
