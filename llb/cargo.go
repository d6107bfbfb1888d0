package llb

import (
	"fmt"
	"strings"

	bk "github.com/moby/buildkit/client/llb"

	"github.com/crossllb/crossllb/platforms"
)

// Where the cargo steps put things inside the builder container.
const (
	cargoSrcDir    = "/src"
	cargoOutDir    = "/out"
	cargoTargetDir = "/cargo-target"
	// cargoDefaultHome is cargo's home when the builder image does not set
	// CARGO_HOME: root's ~/.cargo (Debian's cargo). The rust images set
	// CARGO_HOME=/usr/local/cargo.
	cargoDefaultHome = "/root/.cargo"
)

// DefaultCargoBuilder is the builder image of [CargoCompile] when the
// caller has no image with Rust: Debian's rustc and cargo are installed by
// the base install step, shared by every target.
const DefaultCargoBuilder = "debian:bookworm-slim"

// CargoCompile cross-compiles the binary bin of the Cargo project in src
// for tc's target, on builder.Platform (the build platform): nothing runs
// under emulation. all lists every target of the build, tc's included.
// The returned state's root holds only the binary, at "/"+bin.
//
// The graph has these steps, all on builder.Platform:
//
//  1. A base install step, the same op for every target and every set of
//     targets, so BuildKit runs it once: Debian's rustc, cargo,
//     libstd-rust-dev, gcc and libc6-dev for the build platform (plus
//     [WithBuildPackages]), with apt-get retried on failure.
//  2. On it, an install step of tc's own, which depends on tc only: it
//     adds tc's Debian architecture (dpkg --add-architecture) and installs
//     the cross gcc, the libc headers and libstd-rust-dev:<arch> (plus
//     [WithTargetPackages] for tc's architecture). The targets' steps run
//     in parallel, and adding a target installs that target's packages
//     alone. A native target with nothing to add has no such step. With
//     [WithRustup] apt installs only the C toolchains and a step of tc's
//     own runs "rustup target add <triple>" after them.
//  3. "cargo build --release --locked --target <triple> --bin <bin>", with
//     src mounted read-only ([WithoutCargoLock]: no --locked, writable), tc.CargoEnv in the environment (linker, CC_,
//     AR_, pkg-config sysroot), the cargo registry and git caches on cache
//     mounts shared by every target with locked sharing, and the target
//     directory on a cache mount of its own per Rust target (concurrent
//     cargo builds in one target directory corrupt it). The binary is then
//     copied out of the cache mount.
//
// Cache mount IDs are "crossllb/<namespace>/cargo-registry",
// ".../cargo-git" and ".../cargo-target/<rust target>" (see
// [WithCargoCacheNamespace]).
//
// Debian ships the Rust standard library for the gnu targets only: musl
// ([WithMusl]) needs [WithRustup], and fails at Marshal without it. An
// invalid option, a builder without platform, a target without a Debian
// row, or tc missing from all also make the state fail at Marshal.
func CargoCompile(src bk.State, builder Base, bin string, tc platforms.Toolchain, all []platforms.Toolchain, opts ...CargoOption) bk.State {
	target := formatPlatform(tc.Platform)
	what := "cargo build for " + target
	if err := checkBinName(bin); err != nil {
		return failed(fmt.Errorf("%s: %w", what, err))
	}
	o, err := newCargoOptions(opts)
	if err != nil {
		return failed(fmt.Errorf("%s: %w", what, err))
	}
	if o.musl && !o.rustup {
		return failed(fmt.Errorf("%s: WithMusl: Debian's rustc has no standard library for %s (Debian packages libstd-rust-dev for gnu targets only): use WithRustup with a builder image that has rustup, or build for %s",
			what, tc.RustMuslTarget, tc.RustTarget))
	}
	set, err := newCrossSet(what, builder, all, tc)
	if err != nil {
		return failed(err)
	}
	on := bk.Platform(builder.Platform)
	triple := tc.RustTargetFor(o.musl)

	var root bk.State
	if o.rustup {
		base := set.buildPackages(o.buildPkgs)
		root = set.baseStep(builder, "install C toolchain", base)
		root = set.targetStep(root, builder, "install C cross toolchain", tc, set.targetPackages(tc, base, o.targetPkgs))
		root = root.Run(
			bk.Args([]string{"rustup", "target", "add", triple}),
			on,
			bk.WithCustomNamef("rustup target add %s", triple),
		).Root()
	} else {
		// The build platform's standard library is in base: build
		// scripts and proc macros are compiled for it.
		base := set.buildPackages(append([]string{"cargo", "rustc", "libstd-rust-dev"}, o.buildPkgs...))
		root = set.baseStep(builder, "install Rust toolchain", base)
		root = set.targetStep(root, builder, "install Rust and C cross toolchain", tc, set.targetPackages(tc, base, append([]string{"libstd-rust-dev"}, o.targetPkgs...)))
	}

	args := []string{"cargo", "build", "--release"}
	srcMount := []bk.MountOption{bk.Readonly}
	lockNote := ""
	if o.unlocked {
		srcMount, lockNote = nil, ", no Cargo.lock: resolved in the build"
	} else {
		args = append(args, "--locked")
	}
	if o.offline {
		args = append(args, "--offline")
	}
	args = append(args, "--target", triple, "--bin", bin)
	if o.pkg != "" {
		args = append(args, "--package", o.pkg)
	}
	if len(o.features) > 0 {
		args = append(args, "--features", strings.Join(o.features, ","))
	}
	// Every word is checked (names, features, triples): no quoting needed.
	script := strings.Join(args, " ") + " && cp " + cargoTargetDir + "/" + triple + "/release/" + bin + " " + cargoOutDir + "/" + bin

	home := cargoHome(builder)
	runOpts := []bk.RunOption{
		bk.Args([]string{"/bin/sh", "-c", script}),
		bk.Dir(cargoSrcDir),
		on,
		bk.WithCustomNamef("cargo build --bin %s (%s, %s%s)", bin, target, triple, lockNote),
		bk.AddMount(cargoSrcDir, src, srcMount...),
		bk.AddMount(home+"/registry", bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("cargo-registry"), bk.CacheMountLocked)),
		bk.AddMount(home+"/git", bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("cargo-git"), bk.CacheMountLocked)),
		bk.AddMount(cargoTargetDir, bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("cargo-target/"+triple), bk.CacheMountLocked)),
		bk.AddEnv("CARGO_TARGET_DIR", cargoTargetDir),
	}
	for _, kv := range tc.CargoEnv(o.musl) {
		k, v, _ := strings.Cut(kv, "=")
		runOpts = append(runOpts, bk.AddEnv(k, v))
	}
	runOpts = append(runOpts, userEnv(o.env)...)
	build := root.Run(runOpts...)
	return build.AddMount(cargoOutDir, bk.Scratch().Platform(builder.Platform))
}

// cargoHome is CARGO_HOME of the builder image's config, or root's
// ~/.cargo.
func cargoHome(builder Base) string {
	for _, kv := range builder.Config.Config.Env {
		if k, v, _ := strings.Cut(kv, "="); k == "CARGO_HOME" && strings.HasPrefix(v, "/") {
			return strings.TrimRight(v, "/")
		}
	}
	return cargoDefaultHome
}

func (o *cargoOptions) cacheID(what string) string {
	return "crossllb/" + o.namespace + "/" + what
}

// checkBinName checks the name of a binary to build: a plain file name.
func checkBinName(bin string) error {
	if bin == "" || bin[0] == '-' || bin[0] == '.' || !onlyChars(bin, "_-.") {
		return fmt.Errorf("binary name %q: want a plain file name of letters, digits, '_', '-' and '.', like \"app\"", bin)
	}
	return nil
}

// CargoBinaryDir is where [CargoImage] puts the binary:
// /usr/local/bin/<bin>, on the default PATH.
const CargoBinaryDir = "/usr/local/bin"

// CargoImage builds one target's image of a Rust program: [CargoCompile]
// on builder (the build platform) for tc's target with the [CargoOption]s
// of opts; [RuntimeStage](runtime, ...) with the [RuntimeOption]s' steps (such as [WithAptInstall] and [WithSystemUser])
// run on the base first, beside the compile, then the binary copied in at
// CargoBinaryDir/<bin> with mode 0755, owned by 0:0, then any
// [WithRunOnArtifacts] steps; and [ImageConfig](runtime, spec) with the
// entrypoint set to that path unless spec sets one.
//
// runtime.Platform must be tc.Platform: a mismatch, an invalid spec or an
// invalid option makes Runtime fail at Marshal with an error naming the
// target.
func CargoImage(src bk.State, builder, runtime Base, bin string, tc platforms.Toolchain, all []platforms.Toolchain, spec ImageSpec, opts ...ImageOption) Stages {
	split := splitImageOptions(opts)
	compile := CargoCompile(src, builder, bin, tc, all, split.cargoOpts...)
	dest := CargoBinaryDir + "/" + bin
	if spec.Entrypoint == nil {
		spec.Entrypoint = []string{dest}
	}
	return binaryImage(compile, runtime, tc, spec, "/"+bin, dest, split.foreign("CargoImage"), split.rtOpts)
}
