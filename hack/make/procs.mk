# Components as processes (federation/localfed process mode): `ironfed up` runs the controller-manager,
# poollets, brokers and memory providers as the binaries the Helm charts deploy, with the charts'
# flags. hack/component-binaries.sh builds them into the cache (a directory per checkout);
# `ironfed up` finds them through $IRONFED_BIN_DIR (or --bin-dir).

COMPONENT_BIN_DIR = $(shell hack/component-binaries.sh --print)

.PHONY: component-binaries
component-binaries: ## Build the component binaries `ironfed up` runs as processes (into the cache, per checkout).
	@hack/component-binaries.sh >/dev/null

run run-leaf: component-binaries
run run-leaf: export IRONFED_BIN_DIR = $(COMPONENT_BIN_DIR)

TEST_PREREQS += component-binaries
TEST_ENV += IRONFED_BIN_DIR=$(COMPONENT_BIN_DIR)
