# Cloud Backup for Dynamics 365: the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
MODULE := github.com/cloudbackup-d365/cloudbackup
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X $(MODULE)/shared/version.Version=$(VERSION)
FUNCTIONS := $(patsubst functions/%/function.json,%,$(wildcard functions/*/function.json))
TEST_TIMEOUT ?= 14m
DIST ?= dist

STATICCHECK_VERSION := v0.8.2
STATICCHECK := .local/tools/staticcheck-$(STATICCHECK_VERSION)/staticcheck

.PHONY: all build run test demo bench node-deps go-deps vet lint clean app-local

all: build

# Local tools from npm (Azurite, dynamics-web-api), exactly as locked.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
node-deps: node_modules/.package-lock.json

# Go modules at the exact versions in go.mod/go.sum.
go-deps:
	$(GO) mod download
	$(GO) mod verify

# dist/: the folder `func start` runs in and azd zips: host.json, one folder per
# function with its function.json, and the linux/amd64 handler host.json names.
build:
	rm -rf $(DIST)
	mkdir -p $(DIST)
	cp host.json $(DIST)/
	for f in $(FUNCTIONS); do mkdir -p $(DIST)/$$f && cp functions/$$f/function.json $(DIST)/$$f/; done
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/handler ./cmd/handler
	@echo "$(DIST)/ ready: host.json, $(words $(FUNCTIONS)) functions, handler (linux/amd64, $(VERSION))"

# .local/app: the same layout with a handler for this machine, for the dev host.
app-local:
	rm -rf .local/app
	mkdir -p .local/app .local/bin
	cp host.json .local/app/
	for f in $(FUNCTIONS); do mkdir -p .local/app/$$f && cp functions/$$f/function.json .local/app/$$f/; done
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o .local/app/handler ./cmd/handler
	$(GO) build -o .local/bin/devhost ./cmd/devhost

run: node-deps go-deps app-local
	./scripts/run.sh

vet:
	$(GO) vet ./...

# staticcheck at a pinned version, installed through the Go module proxy.
$(STATICCHECK):
	GOBIN=$(CURDIR)/$(dir $(STATICCHECK)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
lint: $(STATICCHECK)
	$(STATICCHECK) ./...

# The race detector over the packages with concurrency (the engines' tests
# that run deliveries in parallel), then each fuzz target briefly (its
# committed corpus in testdata/fuzz is also run by the plain pass).
RACE_PKGS := ./devhost ./shared/messaging ./shared/customhandler ./shared/dataverse ./shared/runstate ./shared/backupformat \
	./shared/tablestore ./shared/blobstore ./shared/retry ./testkit/pump
RACE_BACKUP := TestDuplicateDeliveries|TestScanDeliveredTwiceAtOnce|TestServiceProtectionLimits|TestChaosDeliveryOrderAndDuplicates|TestStorageStoppedAndRestartedMidRun
RACE_RESTORE := TestKilledRestoreResumes|TestThrottledRestoreLosesNothing
RACE_API := TestAPIFlowAndNoSecrets|TestAPIBadInputCorpus
# An execution count, not a duration: with a duration go1.26's fuzz
# coordinator can fail a clean run with "context deadline exceeded" at the
# deadline (golang/go#75804, fixed only in go1.27).
FUZZTIME ?= 20000x
FUZZ_TARGETS := ./shared/customhandler:FuzzDecodeInvocation ./shared/dataverse:FuzzDecodePage ./shared/dataverse:FuzzParseBatchResponse \
	./shared/ncrontab:FuzzParse ./functions:FuzzDecodeRequest ./functions:FuzzRestoreRequest

test: node-deps go-deps vet lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -count=1 -race -timeout $(TEST_TIMEOUT) $(RACE_PKGS)
	$(GO) test -count=1 -race -timeout $(TEST_TIMEOUT) ./shared/backup -run '^($(RACE_BACKUP))$$'
	$(GO) test -count=1 -race -timeout $(TEST_TIMEOUT) ./shared/restore -run '^($(RACE_RESTORE))$$'
	$(GO) test -count=1 -race -timeout $(TEST_TIMEOUT) ./functions -run '^($(RACE_API))$$'
	set -e; for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

demo: node-deps go-deps app-local
	$(GO) run ./cmd/demo -app .local/app $(DEMO_FLAGS)

# Benchmarks (issue 8): prints the table, writes bench/results/latest.json and
# BENCHMARKS.md. BENCH_FLAGS=-quick for development, -scale-1m for the 1M point.
bench: node-deps go-deps app-local
	$(GO) run ./bench -app .local/app $(BENCH_FLAGS)

clean:
	rm -rf $(DIST) .local
