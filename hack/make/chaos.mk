# The chaos test (test/e2e TestChaos, part of make test): 15 random apiserver/etcd faults on a
# three-level federation with creates and deletes in flight, then 0 lost, 0 duplicated, 0 orphaned and
# convergence (docs/local-federation.md). This target runs it alone.

.PHONY: chaos
chaos: cluster-binaries ## The chaos test alone (about 2-4 min): random apiserver/etcd faults, then every invariant checked.
	IRONFED_ASSETS=$(ASSETS) $(TEST_ENV) $(GO) test -count=1 -v -timeout 20m -run TestChaos ./test/e2e/
