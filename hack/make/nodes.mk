# Node clusters (test/nodecluster: netns, containerd, kubelet, kube-proxy, kube-scheduler per
# cluster) and the Helm end-to-end test on them (test/helme2e). Debian packages are installed when
# root (hack/nodes-prereqs.sh); kubelet, kube-proxy and kube-scheduler are built once into the cache
# beside the cluster binaries (hack/nodes-binaries.sh); the images come from make images.

NODES_CACHE = $${IRONFED_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/ironfed}

.PHONY: node-prereqs
node-prereqs: ## Install containerd, runc, CNI plugins, iptables, conntrack, socat from Debian (root).
	@hack/nodes-prereqs.sh

.PHONY: node-binaries
node-binaries: ## Build (or reuse) kubelet, kube-proxy, kube-scheduler in the cache (cold kubelet ~8.5 min CPU).
	@hack/nodes-binaries.sh >/dev/null

.PHONY: helm-e2e
helm-e2e: cluster-binaries chart-tools node-prereqs node-binaries images ## The Helm e2e alone: root -> region -> leaf node clusters, charts installed with helm --wait.
	IRONFED_ASSETS=$(ASSETS) $(TEST_ENV) $(GO) test -count=1 -v -timeout 20m ./test/helme2e/ ./test/nodecluster/

TEST_PREREQS += node-prereqs node-binaries images
TEST_ENV += IRONFED_NODE_BINARIES=$(NODES_CACHE)/k8s/$(KUBERNETES_VERSION)
TEST_ENV += IRONFED_IMAGES_ENV=$(NODES_CACHE)/images/images.env
# Every test of these needs node clusters: make test-short does not link them.
CLUSTER_ONLY_PKGS += test/helme2e test/nodecluster
