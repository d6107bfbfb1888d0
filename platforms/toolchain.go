package platforms

import (
	"debug/elf"
	"fmt"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Toolchain holds the names one platform goes by in each toolchain that
// crossllb drives: Go, Rust, Debian's cross gcc and multiarch packages,
// Alpine, the kernel, and the header of a correct binary.
//
// Get one from [ToolchainFor]; the values come from a single table with one
// row per supported platform. A field is empty where the platform has no
// such name (windows/amd64 and darwin/arm64 are Go-only targets).
type Toolchain struct {
	// Platform is the normalised OCI platform of this row.
	Platform ocispec.Platform

	// GOOS, GOARCH, GOARM and GOAMD64 are the Go environment for the
	// platform. GOARM and GOAMD64 are empty unless the variant needs them.
	GOOS, GOARCH, GOARM, GOAMD64 string

	// RustTarget is the rustc target for glibc, RustMuslTarget the one for
	// musl. For arm/v6 they differ in float ABI: Debian armel is soft-float
	// (gnueabi), Alpine armhf is v6 hard-float (musleabihf).
	RustTarget, RustMuslTarget string

	// GNUTriple is the target triple of Debian's cross gcc: the compiler is
	// "<GNUTriple>-gcc" from the package "gcc-<GNUTriple>".
	GNUTriple string

	// MultiarchTuple is the Debian multiarch directory name, as in
	// /usr/lib/<MultiarchTuple>/pkgconfig, where "apt-get install pkg:arch"
	// puts a target's libraries. It equals GNUTriple except for 386, whose
	// gcc triple is i686-linux-gnu and whose directory is i386-linux-gnu
	// (dpkg-architecture -ai386 -qDEB_HOST_MULTIARCH).
	MultiarchTuple string

	// DebianArch is the Debian architecture ("armhf"), as in
	// "dpkg --add-architecture armhf" and "libc6-dev-armhf-cross".
	DebianArch string

	// AlpineArch is the Alpine architecture ("armv7"); empty where Alpine
	// has no port (arm/v5).
	AlpineArch string

	// UnameMachine is what "uname -m" prints on the platform ("armv7l").
	UnameMachine string

	// Binary is the executable format the platform runs.
	Binary BinaryFormat

	// ELF is the header a correct binary has; zero unless Binary is
	// BinaryELF. See [Toolchain.CheckELF].
	ELF ELFHeader
}

// BinaryFormat is an executable file format.
type BinaryFormat string

// Executable formats of the supported platforms.
const (
	BinaryELF   BinaryFormat = "elf"
	BinaryPE    BinaryFormat = "pe"
	BinaryMachO BinaryFormat = "macho"
)

// ELFHeader is the part of an ELF header that tells which platform a binary
// runs on.
type ELFHeader struct {
	Machine elf.Machine
	Class   elf.Class
	Data    elf.Data // byte order

	// Float is the float ABI. For EM_ARM it is FloatHard (armhf,
	// gnueabihf, musleabihf) or FloatSoft (armel); FloatAny for other
	// machines, for a row that covers both ABIs (arm/v6), and, in a header
	// read from a binary, when the binary does not say.
	Float ARMFloat
}

// ARMFloat is the float ABI of a 32-bit ARM binary.
type ARMFloat int

// Float ABIs. The zero value, FloatAny, means "not constrained" in an
// expected header and "unknown" in a header read from a binary.
const (
	FloatAny ARMFloat = iota
	FloatHard
	FloatSoft
)

// String returns "hard-float", "soft-float" or "any-float".
func (f ARMFloat) String() string {
	switch f {
	case FloatAny:
		return "any-float"
	case FloatHard:
		return "hard-float"
	case FloatSoft:
		return "soft-float"
	}
	return fmt.Sprintf("ARMFloat(%d)", int(f))
}

// toolchains is the table: one row per supported platform, in the order
// [Supported] returns them. The facts come from tonistiigi/xx (xx-info and
// its tests), the Go and Rust platform lists and Debian's archive; see
// PLATFORMS.md in the project's shared notes. Everything else in this
// package is derived from these rows.
var toolchains = []Toolchain{
	{
		Platform: linux("amd64", ""),
		GOOS:     "linux", GOARCH: "amd64",
		RustTarget: "x86_64-unknown-linux-gnu", RustMuslTarget: "x86_64-unknown-linux-musl",
		GNUTriple: "x86_64-linux-gnu", MultiarchTuple: "x86_64-linux-gnu",
		DebianArch: "amd64", AlpineArch: "x86_64", UnameMachine: "x86_64",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("amd64", "v2"),
		GOOS:     "linux", GOARCH: "amd64", GOAMD64: "v2",
		RustTarget: "x86_64-unknown-linux-gnu", RustMuslTarget: "x86_64-unknown-linux-musl",
		GNUTriple: "x86_64-linux-gnu", MultiarchTuple: "x86_64-linux-gnu",
		DebianArch: "amd64", AlpineArch: "x86_64", UnameMachine: "x86_64",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("amd64", "v3"),
		GOOS:     "linux", GOARCH: "amd64", GOAMD64: "v3",
		RustTarget: "x86_64-unknown-linux-gnu", RustMuslTarget: "x86_64-unknown-linux-musl",
		GNUTriple: "x86_64-linux-gnu", MultiarchTuple: "x86_64-linux-gnu",
		DebianArch: "amd64", AlpineArch: "x86_64", UnameMachine: "x86_64",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("amd64", "v4"),
		GOOS:     "linux", GOARCH: "amd64", GOAMD64: "v4",
		RustTarget: "x86_64-unknown-linux-gnu", RustMuslTarget: "x86_64-unknown-linux-musl",
		GNUTriple: "x86_64-linux-gnu", MultiarchTuple: "x86_64-linux-gnu",
		DebianArch: "amd64", AlpineArch: "x86_64", UnameMachine: "x86_64",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("arm64", ""),
		GOOS:     "linux", GOARCH: "arm64",
		RustTarget: "aarch64-unknown-linux-gnu", RustMuslTarget: "aarch64-unknown-linux-musl",
		GNUTriple: "aarch64-linux-gnu", MultiarchTuple: "aarch64-linux-gnu",
		DebianArch: "arm64", AlpineArch: "aarch64", UnameMachine: "aarch64",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("arm", "v7"),
		GOOS:     "linux", GOARCH: "arm", GOARM: "7",
		RustTarget: "armv7-unknown-linux-gnueabihf", RustMuslTarget: "armv7-unknown-linux-musleabihf",
		GNUTriple: "arm-linux-gnueabihf", MultiarchTuple: "arm-linux-gnueabihf",
		DebianArch: "armhf", AlpineArch: "armv7", UnameMachine: "armv7l",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB, FloatHard},
	},
	{
		// Debian armel (gnueabi) is soft-float, Alpine armhf (musleabihf)
		// is v6 hard-float: the row accepts either float ABI.
		Platform: linux("arm", "v6"),
		GOOS:     "linux", GOARCH: "arm", GOARM: "6",
		RustTarget: "arm-unknown-linux-gnueabi", RustMuslTarget: "arm-unknown-linux-musleabihf",
		GNUTriple: "arm-linux-gnueabi", MultiarchTuple: "arm-linux-gnueabi",
		DebianArch: "armel", AlpineArch: "armhf", UnameMachine: "armv6l",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("arm", "v5"),
		GOOS:     "linux", GOARCH: "arm", GOARM: "5",
		RustTarget: "armv5te-unknown-linux-gnueabi", RustMuslTarget: "armv5te-unknown-linux-musleabi",
		GNUTriple: "arm-linux-gnueabi", MultiarchTuple: "arm-linux-gnueabi",
		DebianArch: "armel", AlpineArch: "", UnameMachine: "armv5l",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB, FloatSoft},
	},
	{
		Platform: linux("386", ""),
		GOOS:     "linux", GOARCH: "386",
		RustTarget: "i686-unknown-linux-gnu", RustMuslTarget: "i686-unknown-linux-musl",
		GNUTriple: "i686-linux-gnu", MultiarchTuple: "i386-linux-gnu",
		DebianArch: "i386", AlpineArch: "x86", UnameMachine: "i686",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("ppc64le", ""),
		GOOS:     "linux", GOARCH: "ppc64le",
		RustTarget: "powerpc64le-unknown-linux-gnu", RustMuslTarget: "powerpc64le-unknown-linux-musl",
		GNUTriple: "powerpc64le-linux-gnu", MultiarchTuple: "powerpc64le-linux-gnu",
		DebianArch: "ppc64el", AlpineArch: "ppc64le", UnameMachine: "ppc64le",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("s390x", ""),
		GOOS:     "linux", GOARCH: "s390x",
		RustTarget: "s390x-unknown-linux-gnu", RustMuslTarget: "s390x-unknown-linux-musl",
		GNUTriple: "s390x-linux-gnu", MultiarchTuple: "s390x-linux-gnu",
		DebianArch: "s390x", AlpineArch: "s390x", UnameMachine: "s390x",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB, FloatAny},
	},
	{
		Platform: linux("riscv64", ""),
		GOOS:     "linux", GOARCH: "riscv64",
		RustTarget: "riscv64gc-unknown-linux-gnu", RustMuslTarget: "riscv64gc-unknown-linux-musl",
		GNUTriple: "riscv64-linux-gnu", MultiarchTuple: "riscv64-linux-gnu",
		DebianArch: "riscv64", AlpineArch: "riscv64", UnameMachine: "riscv64",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		Platform: linux("mips64le", ""),
		GOOS:     "linux", GOARCH: "mips64le",
		RustTarget: "mips64el-unknown-linux-gnuabi64", RustMuslTarget: "mips64el-unknown-linux-muslabi64",
		GNUTriple: "mips64el-linux-gnuabi64", MultiarchTuple: "mips64el-linux-gnuabi64",
		DebianArch: "mips64el", AlpineArch: "mips64le", UnameMachine: "mips64",
		Binary: BinaryELF, ELF: ELFHeader{elf.EM_MIPS, elf.ELFCLASS64, elf.ELFDATA2LSB, FloatAny},
	},
	{
		// Go-only: no Debian, Alpine or Rust row.
		Platform: ocispec.Platform{OS: "windows", Architecture: "amd64"},
		GOOS:     "windows", GOARCH: "amd64",
		Binary: BinaryPE,
	},
	{
		// Go-only: no Debian, Alpine or Rust row.
		Platform: ocispec.Platform{OS: "darwin", Architecture: "arm64"},
		GOOS:     "darwin", GOARCH: "arm64",
		Binary: BinaryMachO,
	},
}

func linux(arch, variant string) ocispec.Platform {
	return ocispec.Platform{OS: "linux", Architecture: arch, Variant: variant}
}

// lookup returns the row of a normalised platform.
func lookup(p ocispec.Platform) (Toolchain, bool) {
	for _, t := range toolchains {
		if t.Platform.OS == p.OS && t.Platform.Architecture == p.Architecture && t.Platform.Variant == p.Variant {
			return t, true
		}
	}
	return Toolchain{}, false
}

// Supported returns every supported platform, normalised, in table order.
func Supported() []ocispec.Platform {
	ps := make([]ocispec.Platform, len(toolchains))
	for i, t := range toolchains {
		ps[i] = t.Platform
	}
	return ps
}

// ToolchainFor returns the toolchain row of p. p is normalised first (see
// [Normalize]), so linux/arm and linux/arm/v7 give the same row; an
// unsupported platform is an error wrapping [ErrUnsupported].
func ToolchainFor(p ocispec.Platform) (Toolchain, error) {
	n, err := Normalize(p)
	if err != nil {
		return Toolchain{}, err
	}
	t, _ := lookup(n) // Normalize only returns platforms of the table.
	return t, nil
}

// GoEnv returns the Go environment of the platform, sorted:
// GOAMD64 (when set), GOARCH, GOARM (when set), GOOS.
//
//	GOARCH=arm GOARM=7 GOOS=linux
func (t Toolchain) GoEnv() []string {
	env := []string{"GOOS=" + t.GOOS, "GOARCH=" + t.GOARCH}
	if t.GOARM != "" {
		env = append(env, "GOARM="+t.GOARM)
	}
	if t.GOAMD64 != "" {
		env = append(env, "GOAMD64="+t.GOAMD64)
	}
	slices.Sort(env)
	return env
}

// RustTargetFor returns RustMuslTarget if musl is set, RustTarget
// otherwise; empty where the platform has no Rust row.
func (t Toolchain) RustTargetFor(musl bool) string {
	if musl {
		return t.RustMuslTarget
	}
	return t.RustTarget
}

// CC returns Debian's cross C compiler for the platform,
// "<GNUTriple>-gcc"; empty where the platform has no Debian row.
func (t Toolchain) CC() string {
	if t.GNUTriple == "" {
		return ""
	}
	return t.GNUTriple + "-gcc"
}

// CargoEnv returns the environment for "cargo build" to cross-compile to
// the platform with Debian's cross gcc (see [Toolchain.DebianCrossPackages])
// and the target's -dev packages installed by multiarch (see
// [Toolchain.DebianMultiarch]), sorted by name:
//
//	AR_<target>=<GNUTriple>-ar
//	CARGO_BUILD_TARGET=<target>
//	CARGO_TARGET_<TARGET>_LINKER=<GNUTriple>-gcc
//	CC_<target>=<GNUTriple>-gcc
//	PKG_CONFIG_ALLOW_CROSS=1
//	PKG_CONFIG_PATH=/usr/lib/<MultiarchTuple>/pkgconfig
//	PKG_CONFIG_SYSROOT_DIR=/
//
// where <target> is RustTargetFor(musl) with "-" spelled "_" and <TARGET>
// is that upper-cased, as cargo and the cc crate read them. The pkg-config
// variables let crates such as openssl-sys find the target's libraries
// instead of the build host's. It returns nil where the platform has no
// Rust or Debian row.
//
// Musl targets link with the same Debian (glibc) gcc: rustc ships musl's
// crt objects and libc.a with its musl targets and links them itself
// ("self-contained" linking, the default for *-linux-musl*), precisely so
// that a glibc-targeting gcc can drive the link (rust-lang/rust,
// src/bootstrap/src/core/build_steps/compile.rs, copy_self_contained_objects).
// Pure Rust crates build this way. C code compiled by CC_<target> sees
// glibc headers, though: crates with C parts that call into libc need a
// musl C toolchain instead.
func (t Toolchain) CargoEnv(musl bool) []string {
	target := t.RustTargetFor(musl)
	if target == "" || t.GNUTriple == "" {
		return nil
	}
	lower := strings.ReplaceAll(target, "-", "_")
	env := []string{
		"AR_" + lower + "=" + t.GNUTriple + "-ar",
		"CARGO_BUILD_TARGET=" + target,
		"CARGO_TARGET_" + strings.ToUpper(lower) + "_LINKER=" + t.CC(),
		"CC_" + lower + "=" + t.CC(),
		"PKG_CONFIG_ALLOW_CROSS=1",
		"PKG_CONFIG_PATH=/usr/lib/" + t.MultiarchTuple + "/pkgconfig",
		"PKG_CONFIG_SYSROOT_DIR=/",
	}
	slices.Sort(env)
	return env
}

// DebianCrossPackages returns the Debian packages of the cross C toolchain
// for the platform: "gcc-<GNUTriple>" (with x86_64 spelled x86-64, as
// Debian names the package) and "libc6-dev-<DebianArch>-cross". It returns
// nil where the platform has no Debian row.
//
//	gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
func (t Toolchain) DebianCrossPackages() []string {
	if t.DebianArch == "" || t.GNUTriple == "" {
		return nil
	}
	return []string{
		"gcc-" + strings.ReplaceAll(t.GNUTriple, "x86_64", "x86-64"),
		"libc6-dev-" + t.DebianArch + "-cross",
	}
}

// DebianMultiarch returns the Debian names of packages built for the
// platform, "<pkg>:<DebianArch>", to install after
// "dpkg --add-architecture <DebianArch>". It returns nil where the platform
// has no Debian row.
//
//	DebianMultiarch("libssl-dev") = ["libssl-dev:armhf"]
func (t Toolchain) DebianMultiarch(pkgs ...string) []string {
	if t.DebianArch == "" || len(pkgs) == 0 {
		return nil
	}
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = p + ":" + t.DebianArch
	}
	return out
}
