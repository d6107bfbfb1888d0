// Package integration holds crossllb's tests against real parts: the
// buildkitd (runc worker), registry and QEMU binfmt handlers that hack/setup
// starts. Run them with `make test`; run alone, they need the environment
// `eval "$(hack/setup)"` exports (BUILDKIT_HOST, CROSSLLB_REGISTRY,
// CROSSLLB_CACHE) and the buildkitd it puts on PATH, and fail without them.
package integration
