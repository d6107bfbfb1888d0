# crossllb: `make demo` builds a three-platform image; `make test` runs every
# test against a real buildkitd, registry and QEMU. Both start with `make
# setup`, which prepares this machine (see hack/setup).
SHELL := /bin/bash
GO ?= go
ENV_FILE := .setup.env
OUT ?= out
# Integration tests build images for real; give them room.
TEST_TIMEOUT ?= 60m

.PHONY: all setup teardown vet unit test demo bench bench-quick

all: test

setup:
	@hack/setup > $(ENV_FILE).tmp && mv $(ENV_FILE).tmp $(ENV_FILE)

teardown:
	hack/teardown

vet:
	$(GO) vet ./...

# Unit tests only: no daemon needed.
unit:
	$(GO) test -count=1 ./platforms/... ./llb/... ./solver/... ./internal/... ./examples/... ./bench/...

test: setup vet
	. ./$(ENV_FILE) && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

demo: setup
	@mkdir -p $(OUT)
	. ./$(ENV_FILE) && $(GO) run ./examples/gobuild \
		--platform linux/amd64,linux/arm64,linux/arm/v7 \
		--runtime-image debian:bookworm-slim \
		--output type=oci,dest=$(OUT)/hello.tar \
		--metadata-file $(OUT)/hello.json \
		--progress plain

# The side-by-side benchmark (bench/main.go): crossllb against BuildKit's
# Dockerfile frontend (with and without cache mounts), the same Dockerfile
# under QEMU, and ko, on the bench's own buildkitd; writes
# bench/results/latest.md and latest.json. About two hours on 2 cores
# (every cold build is the median of 3). Not part of `make test` or CI.
# BENCH_FLAGS adds flags (go run ./bench --help).
bench: setup
	. ./$(ENV_FILE) && $(GO) run ./bench $(BENCH_FLAGS)

# A few minutes: the Go workload only, one run, linux/amd64 only, no
# emulation; results go to $CROSSLLB_CACHE/bench/quick, not bench/results;
# the build table with its ratios and the design targets print on stdout.
bench-quick: setup
	. ./$(ENV_FILE) && $(GO) run ./bench --workloads go --runs 1 --cold-runs 1 \
		--platforms linux/amd64 --cold-sizes 1 --emulated "" --benchtime 200ms \
		--out "$$CROSSLLB_CACHE/bench/quick" $(BENCH_FLAGS)
