# Helm charts (charts/) and container images (hack/images). The chart tools are built once from the
# module proxy into the cache (hack/chart-tools.sh); the chart tests (test/charts) find them through
# TEST_ENV and fail, not skip, when they are missing.

CHART_TOOLS_CACHE = $${IRONFED_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/ironfed}/tools

.PHONY: chart-tools
chart-tools: ## Build (or reuse) helm and kubeconform in the cache (cold: helm ~6.5 min CPU).
	@hack/chart-tools.sh >/dev/null

.PHONY: images
images: ## Build the ironfed and pause images as docker-archive tarballs in the cache (no Docker, no registry).
	$(GO) run ./hack/images

.PHONY: charts-check
charts-check: chart-tools cluster-binaries ## The chart gates alone: helm lint, kubeconform, flags, server-side dry run.
	IRONFED_ASSETS=$(ASSETS) $(TEST_ENV) $(GO) test -count=1 ./test/charts/

TEST_PREREQS += chart-tools
TEST_ENV += IRONFED_HELM=$(CHART_TOOLS_CACHE)/helm/$(HELM_VERSION)/helm
TEST_ENV += IRONFED_KUBECONFORM=$(CHART_TOOLS_CACHE)/kubeconform/$(KUBECONFORM_VERSION)/kubeconform
