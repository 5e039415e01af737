// Package realceph holds every test that needs a real Ceph: the IRI
// conformance suite against the RBD volume runtime and the RGW bucket
// runtime on unix sockets, and the data paths (bytes through librbd,
// objects through S3). TestMain starts one private one-node cluster with
// localceph for the whole package and stops it at the end; keeping all such
// tests in this one package means one cluster per `go test ./...` run (the
// mon's default ports allow only one per machine).
package realceph
