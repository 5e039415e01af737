# Benchmarks (docs/performance.md): each prints its figure beside a reference measured in the same
# run; nothing asserts a timing, and none of them is part of `make test`.
#
#   make bench                  every benchmark below, one after the other (~10 min on 2 cores)
#   make bench-broker           broker memory, list cost vs the marshal floor, UID selector, bytes/machine
#   make bench-poollet          poollet memory and status writes per machine (BENCH_POOLLET_MACHINES=N)
#   make bench-scheduler        scheduler binds with per-bind Events vs raw binds
#   make bench-e2e              chain (top-level Makefile): create throughput, burst propagation
#
# BENCH_FLAGS adds go test flags (e.g. BENCH_FLAGS=-cpuprofile=cpu.out with one package).

BENCH_FLAGS ?=
BENCH_POOLLET_MACHINES ?= 10000
BENCH_GO_TEST = IRONFED_ASSETS=$(ASSETS) $(GO) test -run '^$$' -benchtime=1x -timeout 30m $(BENCH_FLAGS)

.PHONY: bench
bench: bench-broker bench-poollet bench-scheduler bench-memory bench-e2e ## Every benchmark (docs/performance.md); figures beside same-run references.

.PHONY: bench-broker
bench-broker: cluster-binaries ## Broker at 10k machines: RSS/heap, ListMachines vs marshal floor, UID selector, answer bytes.
	$(GO) test -run '^$$' -bench ListSelector10k $(BENCH_FLAGS) ./broker/common/
	$(BENCH_GO_TEST) -bench ListMachines10k ./broker/machinebroker/

.PHONY: bench-poollet
bench-poollet: cluster-binaries ## Poollet with BENCH_POOLLET_MACHINES machines: heap/RSS, writes per machine, latency to Running.
	IRONFED_BENCH_MACHINES=$(BENCH_POOLLET_MACHINES) $(BENCH_GO_TEST) -bench BoundToRunning ./poollet/machinepoollet/

.PHONY: bench-scheduler
bench-scheduler: cluster-binaries ## Scheduler: 10k binds over 1k pools with per-bind Events vs a raw bind loop; an Event as JSON vs protobuf.
	$(BENCH_GO_TEST) -bench 'Schedule10k|EventEncoding' ./federation/controllermanager/

.PHONY: bench-memory
bench-memory: ## Memory provider: list/watch cost at 10k and 100k machines.
	$(GO) test -run '^$$' -bench . -benchtime=3x $(BENCH_FLAGS) ./providers/memory/
