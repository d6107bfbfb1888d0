package llb

import (
	"fmt"
	"strings"

	bk "github.com/moby/buildkit/client/llb"

	"github.com/crossllb/crossllb/platforms"
)

// Where the compile steps put things inside the builder container.
const (
	goSrcDir        = "/src"
	goOutDir        = "/out"
	goModCacheDir   = "/go/pkg/mod"
	goBuildCacheDir = "/root/.cache/go-build"
)

// GoCompile cross-compiles the Go main package of the module in src for
// tc's target, running the Go toolchain of builder on builder.Platform (the
// build platform): nothing runs under emulation. The returned state's root
// holds only the binary, at "/"+name (see [GoBinaryName]).
//
// The graph has two steps, both on builder.Platform:
//
//  1. "go mod download", with only go.mod and go.sum of src mounted (go.sum
//     may be absent; the mount is writable and its changes dropped) and the
//     module cache on a cache mount. It does not
//     depend on the target, so its op is byte-identical for every target
//     and BuildKit runs it once per build. Skipped with [WithVendor].
//  2. "go build -trimpath [-mod=vendor] [-tags=...] [-ldflags=...] -o
//     /out/<name> <pkg>", with src mounted read-only, tc.GoEnv() and
//     CGO_ENABLED in the environment, and the module and build caches on
//     cache mounts shared across targets (Go's caches are safe for
//     concurrent use; the build cache keys entries by GOOS/GOARCH).
//
// Cache mount IDs are "crossllb/<namespace>/go-mod" and
// "crossllb/<namespace>/go-build" (see [WithCacheNamespace]). The builder
// image is expected to run as a user that can write the cache mounts, as
// the official golang images (root) do.
//
// An invalid option, a builder without platform or a toolchain without
// GOOS/GOARCH makes the returned state fail at Marshal.
func GoCompile(src bk.State, builder Base, tc platforms.Toolchain, opts ...GoOption) bk.State {
	target := formatPlatform(tc.Platform)
	o, err := newGoOptions(opts)
	if err != nil {
		return failed(fmt.Errorf("go compile for %s: %w", target, err))
	}
	if tc.GOOS == "" || tc.GOARCH == "" {
		return failed(fmt.Errorf("go compile for %s: the toolchain has no GOOS/GOARCH: get it from platforms.ToolchainFor", target))
	}
	if err := checkPlatform(fmt.Sprintf("go compile for %s: builder image %q", target, builder.Ref), builder.Platform); err != nil {
		return failed(err)
	}
	on := bk.Platform(builder.Platform)

	root := builder.State()
	if !o.vendor {
		root = goModDownload(root, src, builder, o)
	}

	args := []string{"go", "build", "-trimpath"}
	if o.vendor {
		args = append(args, "-mod=vendor")
	}
	if len(o.tags) > 0 {
		args = append(args, "-tags="+strings.Join(o.tags, ","))
	}
	if o.ldflags != "" {
		args = append(args, "-ldflags="+o.ldflags)
	}
	args = append(args, "-o", goOutDir+"/"+o.name, o.pkg)

	runOpts := []bk.RunOption{
		bk.Args(args),
		bk.Dir(goSrcDir),
		on,
		bk.WithCustomNamef("go build %s (%s)", o.pkg, target),
		bk.AddMount(goSrcDir, src, bk.Readonly),
		bk.AddMount(goBuildCacheDir, bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("go-build"), bk.CacheMountShared)),
		bk.AddEnv("GOCACHE", goBuildCacheDir),
	}
	if !o.vendor {
		runOpts = append(runOpts,
			bk.AddMount(goModCacheDir, bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("go-mod"), bk.CacheMountShared)),
			bk.AddEnv("GOMODCACHE", goModCacheDir),
		)
	}
	for _, kv := range tc.GoEnv() {
		k, v, _ := strings.Cut(kv, "=")
		runOpts = append(runOpts, bk.AddEnv(k, v))
	}
	cgo := "0"
	if o.cgo {
		cgo = "1"
		if cc := crossCC(builder, tc, o); cc != "" {
			runOpts = append(runOpts, bk.AddEnv("CC", cc))
		}
	}
	runOpts = append(runOpts, bk.AddEnv("CGO_ENABLED", cgo))
	runOpts = append(runOpts, userEnv(o.env)...)
	runOpts = append(runOpts, o.secretOpts()...)

	build := root.Run(runOpts...)
	return build.AddMount(goOutDir, bk.Scratch().Platform(builder.Platform))
}

// goModDownload adds the target-independent module download step on top of
// root and returns the state to build on.
func goModDownload(root, src bk.State, builder Base, o *goOptions) bk.State {
	on := bk.Platform(builder.Platform)
	modFiles := bk.Scratch().Platform(builder.Platform).File(
		bk.Copy(src, "/", "/", &bk.CopyInfo{
			IncludePatterns:     []string{"go.mod", "go.sum"},
			CopyDirContentsOnly: true,
		}),
		on, bk.WithCustomName("copy go.mod go.sum"),
	)
	runOpts := []bk.RunOption{
		bk.Args([]string{"go", "mod", "download"}),
		bk.Dir(goSrcDir),
		on,
		bk.WithCustomName("go mod download"),
		// Writable with its changes dropped: go mod download writes go.sum
		// when it is absent or incomplete, and fails on a read-only one.
		bk.AddMount(goSrcDir, modFiles, bk.ForceNoOutput),
		bk.AddMount(goModCacheDir, bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("go-mod"), bk.CacheMountShared)),
		bk.AddEnv("GOMODCACHE", goModCacheDir),
	}
	runOpts = append(runOpts, userEnv(o.env)...)
	runOpts = append(runOpts, o.secretOpts()...)
	return root.Run(runOpts...).Root()
}

// crossCC is the C cross compiler for a cgo build: "<GNU triple>-gcc" when
// the target's architecture differs from the build platform's and the
// caller did not set CC, "" otherwise.
func crossCC(builder Base, tc platforms.Toolchain, o *goOptions) string {
	for _, kv := range o.env {
		if strings.HasPrefix(kv, "CC=") {
			return ""
		}
	}
	b, t := builder.Platform, tc.Platform
	if tc.GNUTriple == "" || (b.OS == t.OS && normalizedArch(b) == normalizedArch(t)) {
		return ""
	}
	return tc.GNUTriple + "-gcc"
}

func userEnv(env []string) []bk.RunOption {
	var opts []bk.RunOption
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		opts = append(opts, bk.AddEnv(k, v))
	}
	return opts
}

func (o *goOptions) cacheID(what string) string {
	return "crossllb/" + o.namespace + "/" + what
}
