# mdouyin: `make run` serves everything on :8080; `make test` runs every test.
GO      ?= go
KITEX   := $(GO) tool -modfile=tools/go.mod kitex
MODULE  := github.com/mdouyin/mdouyin
IDL     := base user video favorite relation message comment
BIN     := bin/mdouyin

.PHONY: help run build test vet unit race gen gen-check deps tidy cluster-up cluster-down test-cluster failover crash bench explain scale fuzz

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: deps build ## Serve every role in one process on :8080 (data in ./data).
	./$(BIN)

build: ## Build bin/mdouyin.
	$(GO) build -o $(BIN) ./cmd/mdouyin

deps: ## Install what `make run` needs on Debian (ffmpeg), if missing.
	@scripts/ensure-ffmpeg.sh || echo "warning: ffmpeg is missing; video uploads will be refused until it is installed" >&2

test: gen-check vet unit ## Check generated code, vet, and run every test.

vet: ## go vet and gofmt.
	$(GO) vet ./...
	$(GO) vet -tags crash,failover ./test/...
	@out=$$(gofmt -l cmd internal test deploy); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# With MDOUYIN_TEST_MYSQL_DSN set (CI sets it), test/e2e runs a second time with its
# server on MariaDB, Redis and NATS. Alone, after the rest: that server shares NATS
# streams and durable consumers with any other server on the same NATS.
unit: ## Run the tests (the MDOUYIN_TEST_* variables add MariaDB, Redis and NATS, a second e2e run on them, the failover tests and the e2e suite against a cluster).
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory crash
	@if [ -n "$$MDOUYIN_TEST_MYSQL_DSN" ]; then \
	  echo "MDOUYIN_E2E_STORES=external $(GO) test -race -count=1 -timeout 20m ./test/e2e/"; \
	  MDOUYIN_E2E_STORES=external $(GO) test -race -count=1 -timeout 20m ./test/e2e/ && \
	  $(MAKE) --no-print-directory failover test-cluster; \
	fi

crash: ## Crash test: kill -9 under a mixed write load, cycle after cycle: the one-process server, and with MDOUYIN_TEST_MYSQL_DSN a random role of a cluster too (CRASH_CYCLES, CRASH_CLUSTER_CYCLES, CRASH_SEED).
	$(GO) test -tags crash -count=1 -timeout 20m -v $(if $(MDOUYIN_TEST_MYSQL_DSN),,-skip TestCrashCluster) ./test/crash/

# Every fuzz target for a short budget each, from its seed corpus alone
# (scripts/fuzz.sh says which FUZZ* variables change that); the seed corpora
# also run as tests under `go test`.
FUZZTIME ?= 5s
fuzz: ## Run every Go fuzz target for FUZZTIME (default 5s; FuzzGateway 45s) and print the executions reached.
	@GO="$(GO)" FUZZTIME="$(FUZZTIME)" FUZZ_FRESH=1 scripts/fuzz.sh

failover: ## Kill replicas, Redis, NATS and the user role of a cluster under load (needs MDOUYIN_TEST_MYSQL_DSN, redis-server, ffmpeg).
	$(GO) test -tags failover -count=1 -timeout 20m -v ./test/failover/

gen: ## Regenerate kitex_gen/ from idl/ with the pinned Kitex.
	rm -rf kitex_gen
	@for f in $(IDL); do $(KITEX) -module $(MODULE) -gen-path kitex_gen idl/$$f.thrift || exit 1; done

gen-check: ## Fail if kitex_gen/ is not what `make gen` produces from idl/.
	@tmp=$$(mktemp -d) && cp -r kitex_gen $$tmp/before && $(MAKE) --no-print-directory -s gen >/dev/null \
	  && if diff -r $$tmp/before kitex_gen >/dev/null; then rm -rf $$tmp; echo "kitex_gen is current"; \
	  else diff -r $$tmp/before kitex_gen | head -20; rm -rf kitex_gen && mv $$tmp/before kitex_gen; rm -rf $$tmp; \
	       echo "kitex_gen is stale: run make gen and commit"; exit 1; fi

# The cluster on this machine: deploy/cluster.sh says what runs where and which
# MDOUYIN_CLUSTER_* variables change it.
cluster-up: ## Start every role twice as its own process, with etcd, S3, MariaDB, Redis and NATS (reused or started); prints the gateway URL.
	@GO="$(GO)" deploy/cluster.sh up

cluster-down: ## Stop what cluster-up started (CLUSTER_PURGE=1 also deletes its run directory and database).
	@GO="$(GO)" deploy/cluster.sh down

test-cluster: ## Run test/e2e against a fresh cluster, then stop it.
	@GO="$(GO)" deploy/cluster.sh test

# scripts/bench.sh says which BENCH_* variables change the dataset, the load and
# the placements; the defaults run in minutes on a laptop.
bench: ## Every load-tool scenario in both placements on a seeded dataset; the table goes into docs/benchmarks.md (BENCH_OUT=- for stdout).
	@GO="$(GO)" scripts/bench.sh

scale: ## Feed p99 at 10k users and at the reference size (1M users), one process; a table on stdout (scripts/scale.sh: SCALE_SIZES, SCALE_RATE).
	@GO="$(GO)" scripts/scale.sh

explain: ## The plans of the statements the server sends under load, on MariaDB and SQLite, into docs/benchmarks.md (EXPLAIN_OUT=- for stdout).
	@GO="$(GO)" scripts/explain.sh
