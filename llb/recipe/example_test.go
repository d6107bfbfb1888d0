package recipe_test

import (
	"context"
	"fmt"
	"log"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/llb/recipe"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// A Go program for three platforms, into one OCI tar, in one call: the
// binary is verified, the runtime stage's user made without emulation.
func ExampleGo_Build() {
	ctx := context.Background()
	c, err := solver.Connect(ctx, os.Getenv("BUILDKIT_HOST"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	g := &recipe.Go{
		Image: recipe.Image{
			Platforms: []ocispec.Platform{
				platforms.MustParse("linux/amd64"),
				platforms.MustParse("linux/arm64"),
				platforms.MustParse("linux/arm/v7"),
			},
			RuntimeImage: "debian:bookworm-slim",
			User:         &llb.SystemUser{Name: "hello", Dirs: []string{"/data"}},
		},
		Context: "examples/gobuild/testdata/hello",
	}
	res, err := g.Build(ctx, c, solver.WithOutput(solver.OCITar("hello.tar")), solver.WithProgress("auto", os.Stderr))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Index.Digest)
}

// The same on a fleet: each target is built on a node of its platform when
// one has it, cross-compiled elsewhere, and the nodes' manifests come out
// as one index pushed to a registry.
func ExampleGo_Build_fleet() {
	ctx := context.Background()
	f, err := solver.ConnectFleet(ctx, []string{"tcp://amd64-builder:1234", "tcp://arm64-builder:1234"},
		solver.WithTLS("ca.pem", "cert.pem", "key.pem", ""))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	g := &recipe.Go{
		Image: recipe.Image{Platforms: []ocispec.Platform{
			platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64"),
		}},
		Context: ".",
	}
	if _, err := g.Build(ctx, f, solver.WithOutput(solver.Registry("registry.example.com/hello:v1"))); err != nil {
		log.Fatal(err)
	}
}

// Two binaries in one image, the first the entrypoint; both verified.
func ExampleGo_Build_twoBinaries() {
	ctx := context.Background()
	c, err := solver.Connect(ctx, os.Getenv("BUILDKIT_HOST"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	g := &recipe.Go{
		Image:    recipe.Image{Platforms: []ocispec.Platform{platforms.MustParse("linux/arm64")}},
		Context:  ".",
		Binaries: []recipe.GoBinary{{Package: "./cmd/server"}, {Package: "./cmd/migrate"}},
		LDFlags:  "-s -w",
	}
	paths, err := g.BinaryPaths()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(paths) // [/usr/local/bin/server /usr/local/bin/migrate]
	if _, err := g.Build(ctx, c, solver.WithOutput(solver.OCIDir("out"))); err != nil {
		log.Fatal(err)
	}
}

// A generator that must run before the compile: it runs once, on the build
// platform, with the compile's Go caches, and what it writes is compiled.
func ExampleGo_Build_generate() {
	ctx := context.Background()
	c, err := solver.Connect(ctx, os.Getenv("BUILDKIT_HOST"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	g := &recipe.Go{
		Image:    recipe.Image{Platforms: []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")}},
		Context:  ".",
		Generate: [][]string{{"go", "generate", "./..."}},
	}
	if _, err := g.Build(ctx, c, solver.WithOutput(solver.OCITar("app.tar"))); err != nil {
		log.Fatal(err)
	}
}

// A Rust service: Debian's rustc cross-compiles on the build platform,
// the runtime stage gets OpenSSL and a system user, nothing emulated.
func ExampleCargo_Build() {
	ctx := context.Background()
	c, err := solver.Connect(ctx, os.Getenv("BUILDKIT_HOST"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r := &recipe.Cargo{
		Image: recipe.Image{
			Platforms:    []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")},
			RuntimeImage: "debian:bookworm-slim",
			AptPackages:  []string{"ca-certificates", "libssl3"},
			User:         &llb.SystemUser{Name: "service"},
		},
		Context:        ".",
		Bin:            "service",
		TargetPackages: []string{"libssl-dev"},
	}
	if _, err := r.Build(ctx, c, solver.WithOutput(solver.OCITar("service.tar"))); err != nil {
		log.Fatal(err)
	}
}
