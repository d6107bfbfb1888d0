# crossllb: `make demo` builds a three-platform image; `make test` runs every
# test against a real buildkitd, registry and QEMU. Both start with `make
# setup`, which prepares this machine (see hack/setup).
SHELL := /bin/bash
GO ?= go
ENV_FILE := .setup.env
OUT ?= out
# Integration tests build images for real; give them room.
TEST_TIMEOUT ?= 60m

.PHONY: all setup teardown vet unit test demo bench

all: test

setup:
	@hack/setup > $(ENV_FILE).tmp && mv $(ENV_FILE).tmp $(ENV_FILE)

teardown:
	hack/teardown

vet:
	$(GO) vet ./...

# Unit tests only: no daemon needed.
unit:
	$(GO) test -count=1 ./platforms/... ./llb/... ./solver/... ./examples/...

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

# Library overhead (graph construction and marshalling for 1, 4, 16
# targets). The side-by-side comparison with the Dockerfile frontend,
# emulation and ko is issue 7, not written yet.
bench: setup
	$(GO) test -run XXX -bench . -benchmem ./llb/
