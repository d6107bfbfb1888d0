package llb

import (
	"context"
	"fmt"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
)

// GoCaches returns the run options that give a step of the caller's own
// the Go caches [GoCompile] uses for the same options: the module cache
// and the build cache, as shared cache mounts with GoCompile's IDs (see
// [WithCacheNamespace]), and GOMODCACHE and GOCACHE pointing at them. Add
// it to a build-platform step (a code generator, "go run", "go test") so
// that it reuses the modules and packages the compile downloads and
// builds, and the compile reuses its:
//
//	st := builder.State().Run(bk.Args([]string{"go", "run", "./tools/gen"}),
//		bk.Platform(builder.Platform), llb.GoCaches(goOpts...), ...)
//
// An invalid option makes the step fail at Marshal.
func GoCaches(opts ...GoOption) bk.RunOption {
	o, err := newGoOptions(opts)
	if err != nil {
		return failingRunOption{fmt.Errorf("GoCaches: %w", err)}
	}
	return runOptions(goCacheMounts(o))
}

// runOptions is several run options as one.
type runOptions []bk.RunOption

func (r runOptions) SetRunOption(ei *bk.ExecInfo) {
	for _, o := range r {
		o.SetRunOption(ei)
	}
}

// goCacheMounts are the cache mounts and environment of the Go steps.
func goCacheMounts(o *goOptions) []bk.RunOption {
	return []bk.RunOption{
		bk.AddMount(goModCacheDir, bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("go-mod"), bk.CacheMountShared)),
		bk.AddEnv("GOMODCACHE", goModCacheDir),
		bk.AddMount(goBuildCacheDir, bk.Scratch(), bk.AsPersistentCacheDir(o.cacheID("go-build"), bk.CacheMountShared)),
		bk.AddEnv("GOCACHE", goBuildCacheDir),
	}
}

// failingRunOption makes the exec op it is given fail at Marshal with err.
type failingRunOption struct{ err error }

func (f failingRunOption) SetRunOption(ei *bk.ExecInfo) {
	ei.State = ei.State.Async(func(context.Context, bk.State, *bk.Constraints) (bk.State, error) {
		return bk.State{}, f.err
	})
}

// GoGenerate runs a command on the module in src before it is compiled,
// on builder.Platform (the build platform) with builder's Go toolchain and
// the Go caches of opts (see [GoCaches]), and returns the module with the
// command's changes: pass it as the source of [GoCompile] or [GoImage].
// It is for what a build must produce first (go generate, a code
// generator, embedded assets). The command runs in the module root with
// opts' environment ([WithGoEnv]) and netrc secret; it does not depend on
// the target, so its op is the same for every target and BuildKit runs it
// once per build.
//
//	src = llb.GoGenerate(src, builder, []string{"go", "generate", "./..."}, goOpts...)
//	st := llb.GoImage(src, builder, runtime, tc, spec, llb.WithPackage("./cmd/app"))
//
// An empty command, an invalid option or a builder without platform makes
// the returned state fail at Marshal.
func GoGenerate(src bk.State, builder Base, args []string, opts ...GoOption) bk.State {
	what := "go generate step " + fmt.Sprintf("%q", args)
	o, err := newGoOptions(opts)
	if err != nil {
		return failed(fmt.Errorf("%s: %w", what, err))
	}
	if len(args) == 0 || strings.TrimSpace(args[0]) == "" {
		return failed(fmt.Errorf("%s: empty command: give the command and its arguments, e.g. go generate ./...", what))
	}
	if err := checkPlatform(fmt.Sprintf("%s: builder image %q", what, builder.Ref), builder.Platform); err != nil {
		return failed(err)
	}
	runOpts := []bk.RunOption{
		bk.Args(args),
		bk.Dir(goSrcDir),
		bk.Platform(builder.Platform),
		bk.WithCustomNamef("%s (build platform)", strings.Join(args, " ")),
	}
	runOpts = append(runOpts, goCacheMounts(o)...)
	runOpts = append(runOpts, userEnv(o.env)...)
	runOpts = append(runOpts, o.secretOpts()...)
	return builder.State().Run(runOpts...).AddMount(goSrcDir, src)
}
