# ironfed — see README.md. Every external tool version is pinned in hack/versions.env.
.SECONDEXPANSION:
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

include hack/versions.env

GO          ?= go
BIN         ?= bin
# Test budget: CI's hard limit is 90 min for everything, cold builds included.
TEST_TIMEOUT ?= 30m
TEST_FLAGS  ?=
PKGS        ?= ./...
MODULE      := github.com/ironfed/ironfed
# Packages without one test that runs under -short (each needs a cluster or a daemon): make
# test-short does not link them, which is most of its time. make test runs them all.
CLUSTER_ONLY_PKGS := federation/console federation/controllermanager federation/forget federation/localfed \
	poollet/bucketpoollet poollet/machinepoollet poollet/volumepoollet providers/ceph/realceph \
	providers/libvirt/localdaemon test/charts test/e2e test/framework test/ownership \
	federation/localcluster

# The cluster binaries live in a versioned cache outside the repo (hack/cluster-binaries.sh).
ASSETS = $(shell hack/cluster-binaries.sh --print 2>/dev/null)

# Host prerequisites of the tests (Debian packages, daemons' binaries), added by hack/make/*.mk.
TEST_PREREQS :=
# Extra environment for `go test` (e.g. paths of cached daemon binaries), added by hack/make/*.mk.
TEST_ENV :=

.PHONY: all
all: build

.PHONY: help
help: ## Show targets.
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build every binary into ./bin.
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: cluster-binaries
cluster-binaries: ## Build (or reuse) kube-apiserver, kube-controller-manager, kubectl, etcd in the cache.
	@hack/cluster-binaries.sh >/dev/null

.PHONY: tools
tools: ## Install the pinned code generators and linters into the cache.
	@for t in controller-gen protoc-gen-go protoc-gen-go-grpc staticcheck protoc; do hack/tools.sh $$t >/dev/null; done

.PHONY: generate
generate: ## Regenerate deepcopy, CRDs and gRPC code.
	@for g in hack/gen-*.sh; do echo "+ $$g"; bash $$g; done

.PHONY: verify-generate
verify-generate: ## Fail when committed generated code is stale.
	@hack/verify-generated.sh

.PHONY: lint
lint: ## gofmt, go vet, staticcheck and the layering rules (hack/layering/rules.txt).
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$') 2>/dev/null); \
	  if [[ -n "$$bad" ]]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$$(hack/tools.sh staticcheck) ./...
	$(GO) run ./hack/layering

.PHONY: test
test: cluster-binaries $$(TEST_PREREQS) lint verify-generate ## Everything CI runs: lint, generated-code check, all tests against real clusters.
	IRONFED_ASSETS=$(ASSETS) $(TEST_ENV) $(GO) test $(TEST_FLAGS) -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

.PHONY: test-short
test-short: ## The fast tier: unit and table tests with fakes, no cluster (tests that need one skip under -short).
	$(GO) test -short -count=1 $$($(GO) list $(PKGS) | grep -v -x -F $(foreach p,$(CLUSTER_ONLY_PKGS),-e $(MODULE)/$(p)))

.PHONY: bench-e2e
bench-e2e: cluster-binaries ## Benchmarks of the chained federation (status propagation, create throughput); BENCH_MACHINES=N.
	IRONFED_ASSETS=$(ASSETS) $(GO) test -run '^$$' -bench . -benchtime=1x ./test/e2e/

.PHONY: run
run: cluster-binaries ## Bring up the local federation (Ctrl-C tears it down).
	IRONFED_ASSETS=$(ASSETS) $(GO) run ./cmd/ironfed up

.PHONY: clean
clean: ## Remove build output (the binary cache stays; see hack/cluster-binaries.sh).
	rm -rf $(BIN)

# Per-area targets (leaf daemons, images, charts) live beside their scripts.
include $(wildcard hack/make/*.mk)
