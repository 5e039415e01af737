# Real-leaf mode of the local federation (federation/localfed/realleaf, `ironfed up --leaf`): the
# leaf runs the libvirt provider (private libvirtd, QEMU/TCG guests) and the Ceph providers (one-node
# Ceph) instead of the memory provider. Needs root for the prerequisites and the daemons. With the
# component binaries (make run-leaf) the providers run as processes with the leaf chart's flags,
# supervised by ironfed beside the poollets; the daemons are ironfed's children either way.
#
#   make run-leaf                      machines on libvirt, volumes and buckets on Ceph
#   make run-leaf LEAF=libvirt         only machines real (volumes and buckets in memory)

LEAF ?= libvirt,ceph

.PHONY: run-leaf
run-leaf: cluster-binaries leaf-libvirt ceph-prereqs leaf-binaries ## Local federation whose leaf runs the real providers (LEAF=libvirt,ceph); Ctrl-C stops everything.
	IRONFED_ASSETS=$(ASSETS) \
	IRONFED_LIBVIRT_GUEST=$(LIBVIRT_CACHE)/libvirt-guest/$(LIBVIRT_GUEST_VERSION) \
	IRONFED_REGISTRY_BIN=$(LIBVIRT_CACHE)/registry/$(DISTRIBUTION_VERSION)/registry \
	$(GO) run ./cmd/ironfed up --leaf $(LEAF)

# `make run` (memory leaves) must not need Ceph's headers: cmd/ironfed links librbd only with the
# ceph tag, so plain run builds the stub (and --leaf ceph then says to use run-leaf).
run: GOFLAGS := $(strip $(filter-out -tags=$(CEPH_GO_TAGS),$(GOFLAGS)))

.PHONY: leaf-binaries
leaf-binaries: ceph-prereqs ## Build the real leaf providers' binaries (libvirt, ceph-volume with librbd, ceph-bucket) beside the component binaries.
	@CEPH_GO_TAGS=$(CEPH_GO_TAGS) hack/component-binaries.sh --leaf >/dev/null

TEST_PREREQS += leaf-binaries
