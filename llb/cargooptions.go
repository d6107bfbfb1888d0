package llb

import (
	"fmt"
	"strings"
)

// CargoOption configures [CargoCompile]. Options are checked when applied:
// an invalid one makes the compile state fail at Marshal with an error
// naming the option and its value.
type CargoOption func(*cargoOptions) error

type cargoOptions struct {
	pkg        string
	features   []string
	musl       bool
	rustup     bool
	offline    bool
	env        []string
	namespace  string
	targetPkgs []string
	buildPkgs  []string
	unlocked   bool
}

func newCargoOptions(opts []CargoOption) (*cargoOptions, error) {
	o := &cargoOptions{namespace: "default"}
	if err := applyOptions(o, opts); err != nil {
		return nil, err
	}
	return o, nil
}

// WithCargoPackage builds the binary of one package of a workspace
// (cargo build -p).
func WithCargoPackage(pkg string) CargoOption {
	return func(o *cargoOptions) error {
		if pkg == "" || !onlyChars(pkg, "_-") {
			return fmt.Errorf("WithCargoPackage(%q): want a package name of letters, digits, '_' and '-'", pkg)
		}
		o.pkg = pkg
		return nil
	}
}

// WithCargoFeatures enables crate features (cargo build --features). It may
// be given more than once.
func WithCargoFeatures(features ...string) CargoOption {
	return func(o *cargoOptions) error {
		for _, f := range features {
			if f == "" || !onlyChars(f, "_-/+.") {
				return fmt.Errorf("WithCargoFeatures(%q): invalid feature %q", features, f)
			}
		}
		o.features = append(o.features, features...)
		return nil
	}
}

// WithMusl builds for the target's musl Rust target
// (aarch64-unknown-linux-musl) instead of glibc: a static binary that runs
// on any base, scratch included. It needs a Rust toolchain that ships the
// musl standard library, which Debian's rustc does not (Debian packages
// libstd-rust-dev for the gnu targets only): use it with [WithRustup] and
// a builder image with rustup. Without WithRustup, the compile state fails
// at Marshal.
func WithMusl() CargoOption {
	return func(o *cargoOptions) error {
		o.musl = true
		return nil
	}
}

// WithRustup takes Rust from the builder image's rustup (as in the
// official rust images) instead of Debian's rustc and cargo: each target's
// install step runs "rustup target add" for that target, and apt installs
// only the C toolchains. The builder image must have rustup and cargo on its
// PATH, and rustup must be able to download the targets' standard
// libraries.
func WithRustup() CargoOption {
	return func(o *cargoOptions) error {
		o.rustup = true
		return nil
	}
}

// WithCargoOffline runs cargo build --offline: dependencies must already be
// in the registry cache or vendored. Without it cargo may fetch the crates
// that Cargo.lock names (the lock file is enforced with --locked unless
// WithoutCargoLock).
func WithCargoOffline() CargoOption {
	return func(o *cargoOptions) error {
		o.offline = true
		return nil
	}
}

// WithoutCargoLock builds a crate that has no Cargo.lock the way cargo
// build does: without --locked, cargo resolves the dependencies and writes
// the lock file inside the build (the source is mounted writable for it;
// nothing of it is kept), and the step's name says so. Builds are then only
// as reproducible as the registry's newest versions: commit a Cargo.lock.
func WithoutCargoLock() CargoOption {
	return func(o *cargoOptions) error {
		o.unlocked = true
		return nil
	}
}

// reservedCargoEnv says why CargoCompile sets key itself, or "" when the
// caller may set it.
func reservedCargoEnv(key string) string {
	switch {
	case key == "CARGO_BUILD_TARGET" || strings.HasPrefix(key, "CARGO_TARGET_") && strings.HasSuffix(key, "_LINKER"):
		return "it comes from the target platform's toolchain"
	case key == "CARGO_TARGET_DIR" || key == "CARGO_HOME":
		return "the caches are cache mounts"
	}
	return ""
}

// WithCargoEnv adds KEY=VALUE environment variables to cargo build
// (RUSTFLAGS, CARGO_PROFILE_RELEASE_LTO, OPENSSL_STATIC...). Variables that
// CargoCompile sets itself (CARGO_BUILD_TARGET, the linker,
// CARGO_TARGET_DIR, CARGO_HOME) are rejected.
func WithCargoEnv(kv ...string) CargoOption {
	return func(o *cargoOptions) error {
		if err := checkEnv("WithCargoEnv", "CargoCompile", kv, reservedCargoEnv); err != nil {
			return err
		}
		o.env = append(o.env, kv...)
		return nil
	}
}

// WithCargoCacheNamespace keys the cargo cache mounts so projects sharing a
// BuildKit daemon do not share them. Default "default"; rules as for
// [WithCacheNamespace].
func WithCargoCacheNamespace(ns string) CargoOption {
	return func(o *cargoOptions) error {
		if !validNamespace(ns) {
			return fmt.Errorf("WithCargoCacheNamespace(%q): want letters, digits and \"._-~+/\" in non-empty elements", ns)
		}
		o.namespace = ns
		return nil
	}
}

// WithTargetPackages installs Debian -dev packages built for every target
// ("libssl-dev" becomes libssl-dev:arm64 and libssl-dev:armhf), each in
// its target's install step, for crates that link C libraries (openssl-sys): the
// pkg-config variables of [platforms.Toolchain.CargoEnv] point at them.
func WithTargetPackages(pkgs ...string) CargoOption {
	return func(o *cargoOptions) error {
		if err := checkTargetPackages("WithTargetPackages", pkgs); err != nil {
			return err
		}
		o.targetPkgs = append(o.targetPkgs, pkgs...)
		return nil
	}
}

// WithBuildPackages installs Debian packages for the build platform
// (pkg-config, cmake, protobuf-compiler...) in the base install step, for
// tools the compile runs (build scripts).
func WithBuildPackages(pkgs ...string) CargoOption {
	return func(o *cargoOptions) error {
		if len(pkgs) == 0 {
			return fmt.Errorf("WithBuildPackages(): no packages")
		}
		if err := checkDebianNames("WithBuildPackages", pkgs); err != nil {
			return err
		}
		o.buildPkgs = append(o.buildPkgs, pkgs...)
		return nil
	}
}
