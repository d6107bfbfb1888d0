// Package recipe builds the common multi-platform images in one call: a
// Go program ([Go]) or a Rust program ([Cargo]), cross-compiled on the
// build platform for every target, each binary copied into the target's
// runtime stage, every target in one BuildKit build, one OCI image index
// out. It is what the examples (examples/gobuild, examples/cargo,
// examples/multinode) run, as ko's build and publish packages are what ko
// runs.
//
// # How do I use this package?
//
// Describe the build as a value and build it on a [solver.Client] or a
// [solver.Fleet] (both are a [Builder]); the outputs, progress and cache
// are solver options:
//
//	c, err := solver.Connect(ctx, "") // $BUILDKIT_HOST, the default socket, or a private buildkitd
//	...
//	defer c.Close()
//	res, err := (&recipe.Go{
//		Image: recipe.Image{
//			Platforms: []ocispec.Platform{
//				platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64"),
//			},
//			RuntimeImage: "debian:bookworm-slim",
//			User:         &llb.SystemUser{Name: "app", Dirs: []string{"/data"}},
//		},
//		Context:  ".",
//		Binaries: []recipe.GoBinary{{Package: "./cmd/server"}},
//	}).Build(ctx, c,
//		solver.WithOutput(solver.OCITar("server.tar"), solver.Registry("registry.example.com/server:v1")),
//		solver.WithProgress("auto", os.Stderr))
//
// What a recipe does by default, and how to change it:
//   - the context is the directory given, less every .git directory (and
//     cargo's target), its .dockerignore and Image.Exclude;
//   - each binary is verified before export (solver.WithVerify: its header
//     against the platform, and that it can start in the image); binaries
//     into scratch must be static (Image.NoVerify, Image.Static);
//   - the user and the Debian packages of the runtime stage are made on
//     the build platform, editing the target's files: nothing is emulated
//     (Image.EmulatedSteps runs them on the target);
//   - the index's and manifests' annotations carry
//     org.opencontainers.image.title, and .created when Image.Created is
//     set, with Image.Annotations on top; the config carries Image.Labels;
//   - the config's creation time is Image.Created, or else the time
//     BuildKit first built the image's newest layer: a rebuild of
//     unchanged sources gives the same digests.
//
// Steps that must run before the compile (go generate, code generators,
// assets) go in Go.Generate: they run on the build platform with the
// compile's Go caches (llb.GoGenerate, llb.GoCaches).
//
// For layouts the recipes do not cover, use [Go.Target] or [Cargo.Target]
// with options of your own, or the llb package's graph builders directly.
//
// The recipe package is the one place where llb (graphs) and solver
// (builds) meet: llb never imports the solver, and the solver never
// imports llb.
package recipe
