package memory

import "github.com/ironfed/ironfed/iri/runtimeid"

// IDLength is the length of every id the provider mints (iri/runtimeid).
const IDLength = runtimeid.Length

func newID() string { return runtimeid.New() }

// ValidID reports whether id has the shape of an id minted here.
func ValidID(id string) bool { return runtimeid.Valid(id) }

// checkID validates an id given in a request; what names the field ("machine_id").
func checkID(what, id string) error { return runtimeid.Check(what, id) }
