# libvirt leaf (providers/libvirt): QEMU/libvirtd packages, the libvirt-qemu user and qemu.conf, the
# offline test guest and a local OCI registry binary, all idempotent and cached (hack/leaf-libvirt.sh).

LIBVIRT_CACHE = $${IRONFED_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/ironfed}

.PHONY: leaf-libvirt
leaf-libvirt: ## Install/build the libvirt leaf's prerequisites (apt packages as root, test guest, registry).
	@hack/leaf-libvirt.sh >/dev/null

TEST_PREREQS += leaf-libvirt
TEST_ENV += IRONFED_LIBVIRT_GUEST=$(LIBVIRT_CACHE)/libvirt-guest/$(LIBVIRT_GUEST_VERSION)
TEST_ENV += IRONFED_REGISTRY_BIN=$(LIBVIRT_CACHE)/registry/$(DISTRIBUTION_VERSION)/registry
