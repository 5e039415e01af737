# The leaf chart's real providers as pods (test/leafcharts): one node cluster, the host's private
# libvirtd and one-node Ceph (the same daemons as providers/libvirt and providers/ceph/realceph),
# helm install --wait of provider.type=libvirt and ceph-bucket; a TCG guest boots, an S3 object is
# read back; the ceph-volume image's provider makes an RBD volume on the same Ceph. Its environment (guest, registry, helm, images, node binaries) comes from libvirt.mk,
# charts.mk and nodes.mk.

# The image's host-tools layer copies this host's qemu-img (qemu-utils) and its shared libraries
# (hack/images): the libvirt provider runs qemu-img for its qcow2 disks. The ceph-volume image is a
# cgo build against Ceph's headers and libraries (librbd-dev, librados-dev).
images: leaf-libvirt ceph-prereqs

.PHONY: leaf-charts-e2e
leaf-charts-e2e: cluster-binaries chart-tools node-prereqs node-binaries leaf-libvirt ceph-prereqs images ## The leaf chart's libvirt and ceph-bucket pods on a node cluster against real libvirtd and Ceph.
	IRONFED_ASSETS=$(ASSETS) $(TEST_ENV) $(GO) test -count=1 -v -timeout 20m ./test/leafcharts/

CLUSTER_ONLY_PKGS += test/leafcharts
