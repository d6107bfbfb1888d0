// Package llb builds the BuildKit LLB graph of a multi-platform image whose
// program is cross-compiled: the compile stage runs on the BUILD platform
// (the BuildKit worker's own) and produces a binary for each TARGET; the
// runtime stage, one per target, is the target's base image with that
// binary copied in.
//
// # Build platform and target
//
// A multi-platform Dockerfile that forgets FROM --platform=$BUILDPLATFORM
// compiles every target under QEMU, several times slower than compiling
// natively for a foreign architecture, which Go and Rust do well. This
// package makes the split explicit: the builder image is resolved for the
// build platform and every compile op carries it; the runtime image is
// resolved for the target and every runtime op carries the target. No op
// is left to LLB's default platform, which is the platform of the machine
// that marshals the graph, not of the worker: the classic multi-arch bug.
//
//	target                    linux/amd64   linux/arm64   linux/arm/v7
//	builder image (golang)    linux/amd64   linux/amd64   linux/amd64   same op
//	go mod download           linux/amd64   linux/amd64   linux/amd64   same op, runs once
//	go build (GOARCH=...)     linux/amd64   linux/amd64   linux/amd64   one per target
//	runtime image (debian)    linux/amd64   linux/arm64   linux/arm/v7
//	WithSystemUser, apt       linux/amd64   linux/amd64   linux/amd64   with WithBuildTools: target root mounted
//	WithRun                   linux/amd64   linux/arm64   linux/arm/v7  on the base, beside the compile
//	copy binary               linux/amd64   linux/arm64   linux/arm/v7  the last layer
//
// The build platform is the worker's ("ListWorkers(ctx)[0].Platforms[0]"),
// never runtime.GOARCH. Toolchain facts per target (GOARCH, GOARM, GNU
// triple) come from the platforms package.
//
// # How do I use this package?
//
// For the common builds, package recipe (llb/recipe) does all of this in
// one call. By hand: resolve the bases once per platform; this is the
// only I/O, done with a BuildKit gateway client as the resolver:
//
//	builder, err := llb.ResolveBase(ctx, c, "golang:1.26-bookworm", buildPlatform)
//	tools, err := llb.ResolveBase(ctx, c, "debian:bookworm-slim", buildPlatform)
//	app := llb.SystemUser{Name: "app", Dirs: []string{"/data"}}
//	src := bk.Local("context", bk.LocalUniqueID("example.com/app"))
//	for _, target := range targets {
//		runtime, err := llb.ResolveBase(ctx, c, "debian:bookworm-slim", target)
//		tc, err := platforms.ToolchainFor(target)
//		st := llb.GoImage(src, builder, runtime, tc,
//			llb.ImageSpec{ExposedPorts: []string{"8080"}, User: app.ConfigUser()},
//			llb.WithPackage("./cmd/server"), llb.WithLDFlags("-s -w"),
//			llb.WithBuildTools(tools), llb.WithSystemUser(app))
//		def, err := st.Runtime.Marshal(ctx) // errors surface here
//		// solve def, export st.Config as the target's image config
//	}
//
// (bk is BuildKit's github.com/moby/buildkit/client/llb, the alias used
// throughout.) The user is made on the build platform by editing the
// target's account files (WithBuildTools), and the image runs as its
// numeric uid:gid, so nothing runs under emulation and runtimes that
// check for a non-root user can tell.
//
// GoImage is GoCompile, RuntimeStage and ImageConfig put together; use
// them one by one for other layouts (several binaries, extra files, a
// non-Go compile stage whose result feeds an [Artifact]).
//
// Modules behind credentials: WithNetrcSecret("netrc") mounts the build
// secret "netrc" as the go commands' netrc file for the download and
// compile steps only; give it with
// solver.WithSecrets(solver.SecretFile("netrc", os.ExpandEnv("$HOME/.netrc"))).
//
// src is the module root, usually a local source. It must marshal to the
// same op for every target, or nothing downstream of it is shared (the
// module download would run once per target): give llb.Local a fixed
// llb.LocalUniqueID, as above, since without one each Marshal gets a
// fresh unique ID. A gateway build does not fix it for you.
//
// # Graphs are values
//
// Every graph builder is pure (ResolveBase is the one function that does
// I/O): it takes values and returns an llb.State, with no context, no I/O
// and no error. An invalid input (a bad
// option, a base without platform, a runtime base for another platform
// than the toolchain's) makes the returned state fail when it is
// marshalled, with an error that names the input and the target:
//
//	go compile for linux/arm/v7: WithPackage("../app"): the package is outside the module
//
// The same inputs always give the same definition, byte for byte, so
// BuildKit's cache sees identical ops as one. Tests marshal graphs and
// decode the ops instead of running a daemon.
//
// # Caches
//
// The module cache and the Go build cache are cache mounts shared across
// targets and concurrent builds (Go's caches are safe for that) with IDs
// "crossllb/<namespace>/go-mod" and "crossllb/<namespace>/go-build"; set
// the namespace per project with [WithCacheNamespace]. The module download
// sees only go.mod and go.sum, so editing code does not re-run it.
//
// # Rust and C
//
// [CargoCompile] and [CCompile] follow the same split with Debian's cross
// gcc. The caller passes every target of the build. A base install step,
// identical for every target and so run once, installs the build
// platform's gcc and, for Cargo, Debian's rustc and cargo; on it each
// target has an install step of its own, run in parallel with the others,
// that adds its Debian architecture and installs (apt-get retried on
// failure) its cross gcc, libc headers and, for Cargo,
// libstd-rust-dev:<arch> ([WithRustup] uses the builder's rustup instead).
// cargo build then runs per Rust target with [platforms.Toolchain.CargoEnv]
// (linker, CC_, AR_, pkg-config sysroot), the registry and git caches
// shared across targets with locked sharing, and a target directory per
// triple. Debian has no musl standard library: [WithMusl] needs
// [WithRustup]. [CargoImage] adds the runtime stage, with steps such as
// [WithAptInstall] and [WithSystemUser] (a service user owning its data
// directories, as in the Dockerfiles of Rust services such as Trow). They
// run on the runtime base before the binary is copied in, so they depend
// on no compile step: BuildKit runs them while the toolchain installs and
// the compile runs, and a source change that only changes the binary runs
// none of them again. [WithRunOnArtifacts] is for the rare step that must
// see the binary.
//
// # No emulation in the runtime stage
//
// A Dockerfile runs useradd and apt-get for each target under QEMU. With
// [WithBuildTools](tools), tools being the runtime base image resolved for
// the build platform, [WithSystemUser] and [WithAptInstall] run on the
// build platform instead, with the target's root filesystem mounted at
// /target, and edit it as data: shadow's useradd --prefix writes the
// account files, apt resolves and downloads for the target architecture
// against the target's own sources and dpkg status, and dpkg installs
// with --root and --force-script-chrootless (DPKG_ROOT), as mmdebstrap's
// chrootless mode does. No exec op of the runtime stage then carries the
// target platform, and a worker with no QEMU builds the image.
// Maintainer scripts that ignore DPKG_ROOT are refused by name, except the
// few whose work crossllb does for the target root (ca-certificates,
// netbase, openssl); [Emulated] runs a step the old way.
//
// # Image config
//
// [ImageConfig] inherits from the base what a Dockerfile stage inherits,
// applies an [ImageSpec] on top (ENV by key; an ENTRYPOINT clears an
// inherited CMD), keeps the base's history and leaves the rootfs to
// BuildKit's image exporter. [OCIAnnotations] gives the standard
// org.opencontainers.image.* keys, for labels or manifest annotations.
package llb
