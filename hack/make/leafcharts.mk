# The leaf chart's real providers as pods (test/leafcharts): one node cluster, the host's private
# libvirtd and a one-node Ceph on the node bridge's address (the same daemons as providers/libvirt
# and providers/ceph/realceph), helm install --wait of provider.type=libvirt, ceph-bucket and
# ceph-volume; a TCG guest boots, an S3 object is read back, a Volume's RBD image has the requested
# size and goes with it. Its environment (guest, registry, helm, images, node binaries) comes from
# libvirt.mk, charts.mk and nodes.mk.

# The image's host-tools layer copies this host's qemu-img (qemu-utils) and its shared libraries
# (hack/images): the libvirt provider runs qemu-img for its qcow2 disks. The ceph-volume image is a
# cgo build against Ceph's headers and libraries (librbd-dev, librados-dev).
images: leaf-libvirt ceph-prereqs

.PHONY: leaf-charts-e2e
leaf-charts-e2e: cluster-binaries chart-tools node-prereqs node-binaries leaf-libvirt ceph-prereqs images ## The leaf chart's libvirt, ceph-bucket and ceph-volume pods on a node cluster against real libvirtd and Ceph.
	IRONFED_ASSETS=$(ASSETS) $(TEST_ENV) $(GO) test -count=1 -v -timeout 20m ./test/leafcharts/

CLUSTER_ONLY_PKGS += test/leafcharts
