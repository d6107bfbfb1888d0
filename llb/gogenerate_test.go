package llb

import (
	"strings"
	"testing"

	bk "github.com/moby/buildkit/client/llb"

	"github.com/crossllb/crossllb/platforms"
)

// TestGoGenerateFeedsTheCompile: the generator runs once on the build
// platform with the compile's caches, and the compile (download and build)
// reads its output, not the raw context.
func TestGoGenerateFeedsTheCompile(t *testing.T) {
	opts := []GoOption{WithCacheNamespace("example.com/app"), WithGoEnv("GOFLAGS=-mod=mod")}
	builder := testBuilder()
	src := GoGenerate(testSource(), builder, []string{"go", "generate", "./..."}, opts...)
	var genDigests []string
	for _, target := range targetPlatforms() {
		g := marshal(t, GoCompile(src, builder, toolchain(t, target), opts...))
		genD, gen := g.exec(t, "go", "generate")
		genDigests = append(genDigests, genD.String())
		if p := opPlatform(g.ops[genD]); p != "linux/amd64" {
			t.Errorf("%s: go generate runs on %s, want the build platform", platforms.Format(target), p)
		}
		buildD, build := g.exec(t, "go", "build")
		for _, dest := range []string{goModCacheDir, goBuildCacheDir} {
			gm, bm := mount(t, gen, dest), mount(t, build, dest)
			if gm.CacheOpt == nil || bm.CacheOpt == nil || gm.CacheOpt.ID != bm.CacheOpt.ID {
				t.Errorf("%s: cache mount %s differs: generate %v, build %v", platforms.Format(target), dest, gm.CacheOpt, bm.CacheOpt)
			}
		}
		if v, _ := envValue(gen, "GOFLAGS"); v != "-mod=mod" {
			t.Errorf("go generate has GOFLAGS=%q, want the options' environment", v)
		}
		srcMount := mount(t, build, goSrcDir)
		if in, _ := g.input(t, buildD, srcMount.Input); in != genD {
			t.Errorf("%s: go build reads %s, want the output of go generate", platforms.Format(target), g.names[in])
		}
		genSrc := mount(t, gen, goSrcDir)
		if genSrc.Readonly {
			t.Error("go generate's module mount is read-only: it cannot write generated files")
		}
	}
	for _, d := range genDigests[1:] {
		if d != genDigests[0] {
			t.Errorf("go generate differs between targets (%v): it would run once per target", genDigests)
		}
	}
}

func TestGoGenerateErrors(t *testing.T) {
	for _, tc := range []struct {
		st   bk.State
		want string
	}{
		{GoGenerate(testSource(), testBuilder(), nil), "empty command"},
		{GoGenerate(testSource(), Base{Ref: "golang"}, []string{"go", "generate"}), "has no platform"},
		{GoGenerate(testSource(), testBuilder(), []string{"go", "generate"}, WithCacheNamespace("bad namespace")), "WithCacheNamespace"},
	} {
		if err := marshalErr(t, tc.st); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want it to contain %q", err, tc.want)
		}
	}
}

// TestGoCachesSharesTheCompileCaches: a step of the user's own with
// GoCaches mounts the same caches as the compile.
func TestGoCachesSharesTheCompileCaches(t *testing.T) {
	opts := []GoOption{WithCacheNamespace("example.com/app")}
	builder := testBuilder()
	st := builder.State().Run(bk.Args([]string{"go", "run", "./tools/gen"}), bk.Platform(builder.Platform), GoCaches(opts...)).Root()
	g := marshal(t, st)
	_, run := g.exec(t, "go", "run")
	cg := marshal(t, GoCompile(testSource(), builder, toolchain(t, platforms.MustParse("linux/arm64")), opts...))
	_, build := cg.exec(t, "go", "build")
	for _, dest := range []string{goModCacheDir, goBuildCacheDir} {
		if a, b := mount(t, run, dest).CacheOpt.GetID(), mount(t, build, dest).CacheOpt.GetID(); a != b || a == "" {
			t.Errorf("cache %s: the user's step has %q, the compile %q", dest, a, b)
		}
	}
	if v, _ := envValue(run, "GOCACHE"); v != goBuildCacheDir {
		t.Errorf("GOCACHE=%q", v)
	}
	bad := builder.State().Run(bk.Args([]string{"true"}), GoCaches(WithPackage("../x"))).Root()
	if err := marshalErr(t, bad); err == nil || !strings.Contains(err.Error(), "GoCaches") {
		t.Errorf("GoCaches with a bad option: %v", err)
	}
}
