# Ceph leaf (providers/ceph, cmd/ceph-*-provider): host prerequisites and Go build tags.
#
# The RBD volume runtime links librados/librbd through go-ceph (cgo). Its real code builds only with the
# Go build tag `ceph`; without it a stub compiles that refuses to start, so a newcomer without Ceph's
# headers can still `go build ./...`. Debian 12 ships Ceph Pacific, which go-ceph needs told with the
# tag `pacific`. Every go command run by make gets both tags; outside make use
#   GOFLAGS=-tags=ceph,pacific go test ./...
# The bucket runtime (RGW) is pure Go and needs neither.
CEPH_GO_TAGS ?= ceph,pacific
export GOFLAGS := $(strip $(GOFLAGS) -tags=$(CEPH_GO_TAGS))

.PHONY: ceph-prereqs
ceph-prereqs: ## Install the Ceph leaf's Debian packages (ceph-mon/osd/mgr, radosgw, librados/librbd headers) when missing.
	@hack/leaf-ceph.sh

TEST_PREREQS += ceph-prereqs

# Building and linting compile the cgo RBD code too, so they need the headers first.
build lint: ceph-prereqs

# test-short promises tests without daemons (and installs nothing): it builds the RBD stub instead.
test-short: GOFLAGS := $(strip $(filter-out -tags=$(CEPH_GO_TAGS),$(GOFLAGS)))
