// Package objstore is what the Ceph volume and bucket runtimes share (domain
// errors and their gRPC codes are iri/runtimeerr's): ids, label filters, an in-memory index of the
// objects (rebuilt from Ceph on start) that feeds lists and watches, and a
// bounded event log with event times in Unix seconds.
package objstore
