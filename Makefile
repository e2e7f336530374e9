# Pingap-Go developer commands. Tools are pinned and installed into ./bin by
# scripts/tools.sh; nothing needs to be installed by hand.
SHELL := /bin/bash
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/pingap-go/pingap/internal/version.Version=$(VERSION)
# A count, not a duration: duration-based -fuzztime hits a Go 1.26 fuzz
# coordinator race (golang/go#75804) that fails with "context deadline exceeded".
FUZZTIME ?= 100000x
CONFIG ?= examples/quickstart.toml

.PHONY: all build run run-file test test-unit fuzz generate check-generate lint tools bench bench-compare clean

all: build

## build: compile bin/pingap, bin/pingapctl and bin/pingap-dataplane
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pingap ./cmd/pingap
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pingapctl ./cmd/pingapctl
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pingap-dataplane ./cmd/pingap-dataplane

## run: build and start everything in one process (embedded etcd, control plane, a data plane on the example config, demo backends)
run: build
	$(BIN)/pingap dev

## run-file: build and start a data plane in file mode on $(CONFIG), with demo backends (edit the file: it reloads)
run-file: build
	CONFIG=$(CONFIG) scripts/run.sh

## test: generated-code drift check, all tests with the race detector, short fuzzing
test: check-generate test-unit fuzz

test-unit:
	$(GO) test -race -count=1 -timeout 15m ./...

## fuzz: run every fuzzer for $(FUZZTIME) inputs
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for name in $$(grep -h '^func Fuzz' $$f/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$f $$name"; $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$f; \
	  done; done

## generate: regenerate the protobuf Go code with the pinned tools
generate:
	scripts/tools.sh buf protoc-gen-go protoc-gen-go-grpc
	rm -rf gen
	$(BIN)/buf generate

## check-generate: fail when the committed generated code is not what `make generate` produces
check-generate: generate
	@git diff --exit-code -- gen || (echo "generated code drifted: run 'make generate' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- gen)" || (echo "untracked generated files: run 'make generate' and commit" >&2; git status --porcelain -- gen; exit 1)

## tools: install the pinned developer tools into ./bin
tools:
	scripts/tools.sh

## lint: formatting, vet, golangci-lint, buf lint, generated-code drift
lint: check-generate
	scripts/tools.sh golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(BIN)/golangci-lint run ./...
	$(BIN)/buf lint

## bench: Go benchmarks (never part of make test)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(MAKE) --no-print-directory bench-compare

## bench-compare: side-by-side proxy benchmark against nginx and haproxy (docs/benchmarks.md; DURATION, ROUNDS)
bench-compare:
	scripts/bench/run.sh

clean:
	rm -rf $(BIN)/pingap $(BIN)/pingapctl $(BIN)/pingap-dataplane $(BIN)/testbackend dist
