package llb_test

import (
	"context"
	"fmt"
	"strings"

	bk "github.com/moby/buildkit/client/llb"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
)

// CargoCompile for three targets from a linux/amd64 worker: one base
// install step shared by every target (rustc, cargo, gcc), an install step
// per foreign target (its cross gcc and standard library; amd64 needs
// none), then one cargo build per Rust target, all on linux/amd64.
func ExampleCargoCompile() {
	var all []platforms.Toolchain
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		tc, err := platforms.ToolchainFor(platforms.MustParse(p))
		if err != nil {
			fmt.Println(err)
			return
		}
		all = append(all, tc)
	}
	builder := llb.Base{Ref: llb.DefaultCargoBuilder, Platform: platforms.MustParse("linux/amd64")}
	names := map[string]bool{}
	for _, tc := range all {
		st := llb.CargoCompile(bk.Local("context", bk.LocalUniqueID("example")), builder, "server", tc, all)
		def, err := st.Marshal(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, md := range def.Metadata {
			if n := md.Description["llb.customname"]; strings.HasPrefix(n, "install") || strings.HasPrefix(n, "cargo") {
				names[n] = true
			}
		}
	}
	for _, n := range []string{
		"install Rust toolchain for linux/amd64",
		"install Rust and C cross toolchain for linux/arm64 (on linux/amd64)",
		"install Rust and C cross toolchain for linux/arm/v7 (on linux/amd64)",
		"cargo build --bin server (linux/amd64, x86_64-unknown-linux-gnu)",
		"cargo build --bin server (linux/arm64, aarch64-unknown-linux-gnu)",
		"cargo build --bin server (linux/arm/v7, armv7-unknown-linux-gnueabihf)",
	} {
		fmt.Println(names[n], n)
	}
	fmt.Println(len(names), "distinct steps")
	// Output:
	// true install Rust toolchain for linux/amd64
	// true install Rust and C cross toolchain for linux/arm64 (on linux/amd64)
	// true install Rust and C cross toolchain for linux/arm/v7 (on linux/amd64)
	// true cargo build --bin server (linux/amd64, x86_64-unknown-linux-gnu)
	// true cargo build --bin server (linux/arm64, aarch64-unknown-linux-gnu)
	// true cargo build --bin server (linux/arm/v7, armv7-unknown-linux-gnueabihf)
	// 6 distinct steps
}

// Debian's rustc has no musl standard library: WithMusl without
// WithRustup fails at Marshal and says what to do.
func ExampleWithMusl() {
	tc, _ := platforms.ToolchainFor(platforms.MustParse("linux/arm64"))
	builder := llb.Base{Ref: llb.DefaultCargoBuilder, Platform: platforms.MustParse("linux/amd64")}
	st := llb.CargoCompile(bk.Local("context"), builder, "server", tc, []platforms.Toolchain{tc}, llb.WithMusl())
	_, err := st.Marshal(context.Background())
	fmt.Println(err)
	// Output:
	// cargo build for linux/arm64: WithMusl: Debian's rustc has no standard library for aarch64-unknown-linux-musl (Debian packages libstd-rust-dev for gnu targets only): use WithRustup with a builder image that has rustup, or build for aarch64-unknown-linux-gnu
}
