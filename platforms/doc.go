// Package platforms turns OCI platforms into the names each cross toolchain
// knows them by, checks that a binary was built for the right one, and reads
// what it needs to start in its image.
//
// A platform is an [ocispec.Platform] value, as everywhere in crossllb;
// this package adds no type of its own. Strings are parsed once, at the
// edge (flags, environment), and everything inside takes values.
//
// # How do I use this package?
//
// Parse what the user typed, strictly:
//
//	ps, err := platforms.ParseList("linux/amd64, linux/arm64, linux/arm/v7")
//	if err != nil { return err } // names the input; an unknown platform lists the supported ones
//
// then look up each platform's toolchain row, and take from it what the
// build step needs:
//
//	tc, err := platforms.ToolchainFor(p)
//	tc.GoEnv()                  // GOARCH=arm GOARM=7 GOOS=linux
//	tc.CargoEnv(false)          // CARGO_BUILD_TARGET, linker, CC_*, pkg-config
//	tc.DebianCrossPackages()    // gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
//	tc.DebianMultiarch("libssl-dev") // libssl-dev:armhf
//
// and, once built, check the binary before it goes into an image:
//
//	f, err := os.Open(path)
//	if _, err := tc.CheckELF(f); err != nil { return err }
//	// linux/arm64: binary is EM_X86_64 ELFCLASS64 little-endian, want EM_AARCH64 ELFCLASS64 little-endian
//
// then check that it will start in its image, from a few KiB of headers
// read through an [io.ReaderAt]:
//
//	deps, err := platforms.ReadELFDeps(f) // interpreter, DT_NEEDED, symbol versions
//	deps.Static()                         // no interpreter, no library
//	need, ok := deps.GlibcNeeded()        // 2.38 for a binary that calls strlcpy
//	have, err := platforms.ReadGlibcVersions(libc) // the image's libc.so.6
//	platforms.MaxGlibcVersion(have)       // 2.36 on debian:bookworm
//
// [Format] gives the "os/arch[/variant]" string of a platform, which is
// also the ID of its result in a multi-platform BuildKit build.
//
// # Specifiers and normalisation
//
// A specifier is "os/arch[/variant]", or "arch[/variant]" for linux: "arm64"
// is linux/arm64 whatever the host, unlike containerd's Parse, which fills
// in the host OS. Input is lower-cased and the aliases of containerd's
// platforms package are resolved (aarch64, x86_64, i386, armhf, armel,
// macos). One platform has one spelling after [Parse] or [Normalize]:
//
//	linux/arm64/v8, aarch64   -> linux/arm64
//	linux/arm, armhf          -> linux/arm/v7
//	linux/amd64/v1, x86_64    -> linux/amd64
//
// so two spellings of one platform in a list are a duplicate, and
// [ParseList] rejects them rather than build the same image twice.
//
// # Supported platforms
//
// Only rows of the table are accepted: containerd's Parse takes linux/foo,
// this package answers with an error wrapping [ErrUnsupported] that lists
// [Supported]:
//
//	linux/amd64  linux/amd64/v2  linux/amd64/v3  linux/amd64/v4
//	linux/arm64  linux/arm/v7  linux/arm/v6  linux/arm/v5  linux/386
//	linux/ppc64le  linux/s390x  linux/riscv64  linux/mips64le
//	windows/amd64  darwin/arm64
//
// windows/amd64 and darwin/arm64 are Go-only targets: their rows have the
// Go environment and the binary format, and no Rust, Debian or Alpine
// names.
//
// # The table
//
// Each row is a [Toolchain]: GOOS/GOARCH/GOARM/GOAMD64, the Rust targets
// for glibc and musl, the triple of Debian's cross gcc, the Debian,
// Alpine and "uname -m" architecture names, and the ELF header of a
// correct binary. The facts come from tonistiigi/xx, the Go and Rust
// platform lists and Debian's archive, and are tested row by row. Watch
// arm/v6: Debian's armel is soft-float, Alpine's armhf is v6 hard-float,
// so its glibc and musl Rust targets differ in float ABI.
package platforms
