package platforms_test

import (
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

func ExampleParse() {
	for _, s := range []string{"linux/arm64/v8", "arm", "x86_64", "linux/amd64/v2", "Windows/AMD64"} {
		p, err := platforms.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-15s -> %s\n", s, platforms.Format(p))
	}

	_, err := platforms.Parse("linux/foo")
	fmt.Println(errors.Is(err, platforms.ErrUnsupported))
	// Output:
	// linux/arm64/v8  -> linux/arm64
	// arm             -> linux/arm/v7
	// x86_64          -> linux/amd64
	// linux/amd64/v2  -> linux/amd64/v2
	// Windows/AMD64   -> windows/amd64
	// true
}

func ExampleParseList() {
	ps, err := platforms.ParseList("linux/amd64, linux/arm64, arm/v7")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range ps {
		fmt.Println(platforms.Format(p))
	}

	_, err = platforms.ParseList("linux/arm,linux/arm/v7")
	fmt.Println(err)
	// Output:
	// linux/amd64
	// linux/arm64
	// linux/arm/v7
	// "linux/arm,linux/arm/v7": "linux/arm" and "linux/arm/v7" are both linux/arm/v7: list each platform once
}

func ExampleToolchainFor() {
	tc, err := platforms.ToolchainFor(platforms.MustParse("linux/arm/v7"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tc.GoEnv())
	fmt.Println(tc.RustTarget, tc.RustMuslTarget)
	fmt.Println(tc.DebianArch, tc.AlpineArch, tc.UnameMachine)
	fmt.Println(tc.CC())
	// Output:
	// [GOARCH=arm GOARM=7 GOOS=linux]
	// armv7-unknown-linux-gnueabihf armv7-unknown-linux-musleabihf
	// armhf armv7 armv7l
	// arm-linux-gnueabihf-gcc
}

func ExampleToolchain_GoEnv() {
	tc, err := platforms.ToolchainFor(platforms.MustParse("linux/amd64/v3"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, kv := range tc.GoEnv() {
		fmt.Println(kv)
	}
	// Output:
	// GOAMD64=v3
	// GOARCH=amd64
	// GOOS=linux
}

func ExampleToolchain_CargoEnv() {
	tc, err := platforms.ToolchainFor(platforms.MustParse("linux/arm64"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, kv := range tc.CargoEnv(false) {
		fmt.Println(kv)
	}
	// Output:
	// AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
	// CARGO_BUILD_TARGET=aarch64-unknown-linux-gnu
	// CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
	// CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
	// PKG_CONFIG_ALLOW_CROSS=1
	// PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig
	// PKG_CONFIG_SYSROOT_DIR=/
}

func ExampleToolchain_DebianCrossPackages() {
	for _, s := range []string{"linux/amd64", "linux/arm/v7", "linux/386", "windows/amd64"} {
		tc, err := platforms.ToolchainFor(platforms.MustParse(s))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(s, tc.DebianCrossPackages(), tc.DebianMultiarch("libssl-dev"))
	}
	// Output:
	// linux/amd64 [gcc-x86-64-linux-gnu libc6-dev-amd64-cross] [libssl-dev:amd64]
	// linux/arm/v7 [gcc-arm-linux-gnueabihf libc6-dev-armhf-cross] [libssl-dev:armhf]
	// linux/386 [gcc-i686-linux-gnu libc6-dev-i386-cross] [libssl-dev:i386]
	// windows/amd64 [] []
}

// Equal compares platforms once normalised: arm means arm/v7, aarch64 is
// arm64.
func ExampleEqual() {
	fmt.Println(platforms.Equal(
		ocispec.Platform{OS: "linux", Architecture: "arm"},
		ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}))
	fmt.Println(platforms.Equal(
		ocispec.Platform{OS: "linux", Architecture: "aarch64"},
		ocispec.Platform{OS: "linux", Architecture: "arm64"}))
	fmt.Println(platforms.Equal(
		ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"},
		ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}))
	// Output:
	// true
	// true
	// false
}
