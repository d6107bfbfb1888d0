package llb

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"

	"github.com/crossllb/crossllb/platforms"
)

func TestGoCompileRunsOnBuildPlatform(t *testing.T) {
	build := platforms.Format(buildPlatform())
	for _, target := range targetPlatforms() {
		t.Run(platforms.Format(target), func(t *testing.T) {
			g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, target), WithPackage("./cmd/app")))
			var execs, images int
			for _, d := range g.order {
				op := g.ops[d]
				switch {
				case op.GetSource() != nil && strings.HasPrefix(op.GetSource().Identifier, "local://"):
					// The caller's source: its platform is the caller's.
				case op.GetFile() != nil:
					// LLB file ops carry no platform: BuildKit runs them natively.
					if op.Platform != nil {
						t.Errorf("file op %q has platform %s", g.names[d], opPlatform(op))
					}
				default:
					if got := opPlatform(op); got != build {
						t.Errorf("op %q runs on %s, want the build platform %s", g.names[d], got, build)
					}
					if op.GetExec() != nil {
						execs++
					}
					if op.GetSource() != nil {
						images++
					}
				}
			}
			if execs != 2 || images != 1 {
				t.Errorf("got %d exec ops and %d image sources, want 2 and 1", execs, images)
			}
		})
	}
}

func TestGoCompileSharesTargetIndependentSteps(t *testing.T) {
	var builderSrc, download, build []digest.Digest
	for _, target := range targetPlatforms() {
		g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, target)))
		src := g.sources("docker-image://")
		if len(src) != 1 {
			t.Fatalf("%s: want one image source, got %d", platforms.Format(target), len(src))
		}
		builderSrc = append(builderSrc, src[0])
		if id := g.ops[src[0]].GetSource().Identifier; id != "docker-image://docker.io/library/golang:1.26-bookworm@"+golangDigest.String() {
			t.Errorf("builder image source %q is not pinned to its digest", id)
		}
		dl, _ := g.exec(t, "go", "mod", "download")
		download = append(download, dl)
		b, e := g.exec(t, "go", "build")
		build = append(build, b)

		tc := toolchain(t, target)
		for _, kv := range append(tc.GoEnv(), "CGO_ENABLED=0") {
			k, want, _ := strings.Cut(kv, "=")
			if got, ok := envValue(e, k); !ok || got != want {
				t.Errorf("%s: go build has %s=%q (set: %v), want %q", platforms.Format(target), k, got, ok, want)
			}
		}
		if g.names[b] != "go build . ("+platforms.Format(target)+")" {
			t.Errorf("go build vertex is named %q", g.names[b])
		}
	}
	if v, ok := envValueFor(t, "linux/arm/v7", "GOARM"); !ok || v != "7" {
		t.Errorf("linux/arm/v7: GOARM=%q (set: %v), want 7", v, ok)
	}
	if v, _ := envValueFor(t, "linux/arm64", "GOARCH"); v != "arm64" {
		t.Errorf("linux/arm64: GOARCH=%q, want arm64", v)
	}
	if builderSrc[0] != builderSrc[1] || builderSrc[1] != builderSrc[2] {
		t.Errorf("builder image source differs between targets: %v", builderSrc)
	}
	if download[0] != download[1] || download[1] != download[2] {
		t.Errorf("go mod download differs between targets: %v", download)
	}
	if build[0] == build[1] || build[1] == build[2] || build[0] == build[2] {
		t.Errorf("go build ops should differ between targets: %v", build)
	}
}

func envValueFor(t *testing.T, target, key string) (string, bool) {
	t.Helper()
	g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse(target))))
	_, e := g.exec(t, "go", "build")
	return envValue(e, key)
}

func TestGoCompileCacheMounts(t *testing.T) {
	g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64")), WithCacheNamespace("proj-a")))
	_, dl := g.exec(t, "go", "mod", "download")
	_, build := g.exec(t, "go", "build")
	check := func(step string, e *pb.ExecOp, dest, id, env string) {
		t.Helper()
		m := mount(t, e, dest)
		if m.MountType != pb.MountType_CACHE || m.CacheOpt == nil {
			t.Fatalf("%s: %s is not a cache mount", step, dest)
		}
		if m.CacheOpt.ID != id {
			t.Errorf("%s: cache mount %s has ID %q, want %q", step, dest, m.CacheOpt.ID, id)
		}
		if m.CacheOpt.Sharing != pb.CacheSharingOpt_SHARED {
			t.Errorf("%s: cache mount %s is %v, want SHARED", step, dest, m.CacheOpt.Sharing)
		}
		if v, _ := envValue(e, env); v != dest {
			t.Errorf("%s: %s=%q, want %q", step, env, v, dest)
		}
	}
	check("go mod download", dl, "/go/pkg/mod", "crossllb/proj-a/go-mod", "GOMODCACHE")
	check("go build", build, "/go/pkg/mod", "crossllb/proj-a/go-mod", "GOMODCACHE")
	check("go build", build, "/root/.cache/go-build", "crossllb/proj-a/go-build", "GOCACHE")

	// A module path.
	g = marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64")), WithCacheNamespace("github.com/example/app")))
	_, build = g.exec(t, "go", "build")
	if id := mount(t, build, "/root/.cache/go-build").CacheOpt.ID; id != "crossllb/github.com/example/app/go-build" {
		t.Errorf("build cache ID %q", id)
	}

	// The default namespace.
	g = marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64"))))
	_, build = g.exec(t, "go", "build")
	if id := mount(t, build, "/root/.cache/go-build").CacheOpt.ID; id != "crossllb/default/go-build" {
		t.Errorf("default build cache ID %q", id)
	}
}

func TestGoModDownloadSeesOnlyModFiles(t *testing.T) {
	g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64"))))
	dlDigest, dl := g.exec(t, "go", "mod", "download")
	if dl.Meta.Cwd != "/src" {
		t.Errorf("go mod download runs in %q, want /src", dl.Meta.Cwd)
	}
	m := mount(t, dl, "/src")
	if m.Readonly || m.Output != int64(pb.SkipOutput) {
		t.Errorf("go.mod mount: readonly=%v output=%d, want writable with no output (go mod download may write go.sum)", m.Readonly, m.Output)
	}
	fileDigest, fileOp := g.input(t, dlDigest, m.Input)
	f := fileOp.GetFile()
	if f == nil || len(f.Actions) != 1 || f.Actions[0].GetCopy() == nil {
		t.Fatalf("the /src mount of go mod download is %v, want a file op with one copy", fileOp)
	}
	cp := f.Actions[0].GetCopy()
	if !slices.Equal(cp.IncludePatterns, []string{"go.mod", "go.sum"}) || cp.Src != "/" || cp.Dest != "/" {
		t.Errorf("copy %q -> %q includes %q, want / -> / with only go.mod and go.sum", cp.Src, cp.Dest, cp.IncludePatterns)
	}
	if len(cp.ExcludePatterns) != 0 || cp.AllowWildcard {
		t.Errorf("copy has exclude patterns %q / wildcard %v", cp.ExcludePatterns, cp.AllowWildcard)
	}
	_, srcOp := g.input(t, fileDigest, f.Actions[0].SecondaryInput)
	if s := srcOp.GetSource(); s == nil || s.Identifier != "local://context" {
		t.Errorf("go.mod is copied from %v, want the source state", srcOp)
	}
	// Nothing else of the source reaches the download step.
	for i, in := range g.ops[dlDigest].Inputs {
		if op := g.ops[digest.Digest(in.Digest)]; op.GetSource() != nil && op.GetSource().Identifier == "local://context" {
			t.Errorf("go mod download input %d is the whole source", i)
		}
	}
}

func TestGoBuildCommand(t *testing.T) {
	g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm/v7")),
		WithPackage("./cmd/app/"),
		WithLDFlags("-s -w -X main.version=1.2.3"),
		WithTags("netgo", "osusergo"),
		WithTags("extra"),
		WithGoEnv("GOPROXY=https://proxy.example", "GOFLAGS=-buildvcs=false"),
	))
	d, e := g.exec(t, "go", "build")
	want := []string{"go", "build", "-trimpath", "-tags=netgo,osusergo,extra", "-ldflags=-s -w -X main.version=1.2.3", "-o", "/out/app", "./cmd/app"}
	if !slices.Equal(e.Meta.Args, want) {
		t.Errorf("args %q\nwant %q", e.Meta.Args, want)
	}
	if g.names[d] != "go build ./cmd/app (linux/arm/v7)" {
		t.Errorf("vertex name %q", g.names[d])
	}
	if e.Meta.Cwd != "/src" {
		t.Errorf("cwd %q, want /src", e.Meta.Cwd)
	}
	for _, kv := range []string{"GOPROXY=https://proxy.example", "GOFLAGS=-buildvcs=false", "GOPATH=/go", "GOTOOLCHAIN=local"} {
		if !slices.Contains(e.Meta.Env, kv) {
			t.Errorf("go build env lacks %s: %q", kv, e.Meta.Env)
		}
	}
	_, dl := g.exec(t, "go", "mod", "download")
	if !slices.Contains(dl.Meta.Env, "GOPROXY=https://proxy.example") {
		t.Errorf("go mod download env lacks GOPROXY: %q", dl.Meta.Env)
	}
	if _, ok := envValue(dl, "GOARCH"); ok {
		t.Errorf("go mod download has target env: %q", dl.Meta.Env)
	}

	src := mount(t, e, "/src")
	if !src.Readonly {
		t.Error("source is mounted writable in go build")
	}
	if _, op := g.input(t, d, src.Input); op.GetSource().GetIdentifier() != "local://context" {
		t.Errorf("go build /src mount is %v, want the source", op)
	}
	out := mount(t, e, "/out")
	if out.Input != int64(pb.Empty) || out.Output == int64(pb.SkipOutput) || out.MountType != pb.MountType_BIND {
		t.Errorf("/out mount: input %d output %d type %v, want an empty bind mount with an output", out.Input, out.Output, out.MountType)
	}
	// The rootfs of go build is the result of go mod download, which orders them.
	dlDigest, _ := g.exec(t, "go", "mod", "download")
	root := mount(t, e, "/")
	if in, _ := g.input(t, d, root.Input); in != dlDigest {
		t.Error("go build does not run on top of go mod download")
	}
}

func TestGoCompileResultIsOutMount(t *testing.T) {
	st := GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64")), WithOutputName("srv"))
	g := marshal(t, st)
	d, e := g.exec(t, "go", "build")
	if digest.Digest(g.result.Digest) != d {
		t.Fatal("the result is not an output of go build")
	}
	if out := mount(t, e, "/out"); g.result.Index != out.Output {
		t.Errorf("the result is output %d, the /out mount is output %d", g.result.Index, out.Output)
	}
	if !slices.Contains(e.Meta.Args, "/out/srv") {
		t.Errorf("args %q lack -o /out/srv", e.Meta.Args)
	}
}

func TestGoCompileVendor(t *testing.T) {
	g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64")), WithVendor()))
	if n := len(g.execs("go", "mod", "download")); n != 0 {
		t.Errorf("vendor build has %d download steps", n)
	}
	for _, d := range g.order {
		if g.ops[d].GetFile() != nil {
			t.Errorf("vendor build has a file op %q", g.names[d])
		}
	}
	_, e := g.exec(t, "go", "build")
	if !slices.Contains(e.Meta.Args, "-mod=vendor") {
		t.Errorf("args %q lack -mod=vendor", e.Meta.Args)
	}
	for _, m := range e.Mounts {
		if m.MountType == pb.MountType_CACHE && strings.HasSuffix(m.CacheOpt.ID, "/go-mod") {
			t.Errorf("vendor build mounts the module cache at %s", m.Dest)
		}
	}
}

func TestGoCompileCGO(t *testing.T) {
	g := marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64")), WithCGO(true)))
	_, e := g.exec(t, "go", "build")
	if v, _ := envValue(e, "CGO_ENABLED"); v != "1" {
		t.Errorf("CGO_ENABLED=%q, want 1", v)
	}
	if v, _ := envValue(e, "CC"); v != "aarch64-linux-gnu-gcc" {
		t.Errorf("CC=%q, want aarch64-linux-gnu-gcc", v)
	}

	// Native target: the builder's own compiler.
	g = marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/amd64")), WithCGO(true)))
	_, e = g.exec(t, "go", "build")
	if v, ok := envValue(e, "CC"); ok {
		t.Errorf("native cgo build sets CC=%q", v)
	}

	// The caller's CC wins.
	g = marshal(t, GoCompile(testSource(), testBuilder(), toolchain(t, platforms.MustParse("linux/arm64")), WithCGO(true), WithGoEnv("CC=zig cc -target aarch64-linux-musl")))
	_, e = g.exec(t, "go", "build")
	if v, _ := envValue(e, "CC"); v != "zig cc -target aarch64-linux-musl" {
		t.Errorf("CC=%q, want the caller's", v)
	}
}

func TestGoCompileInvalidInputs(t *testing.T) {
	arm64 := toolchain(t, platforms.MustParse("linux/arm64"))
	noPlatform := testBuilder()
	noPlatform.Platform.Architecture = ""
	for _, tt := range []struct {
		name    string
		builder Base
		tc      func() any
		opts    []GoOption
		want    []string
	}{
		{name: "absolute package", opts: []GoOption{WithPackage("/cmd/app")}, want: []string{`WithPackage("/cmd/app")`, "linux/arm64"}},
		{name: "import path", opts: []GoOption{WithPackage("github.com/x/y")}, want: []string{`WithPackage("github.com/x/y")`}},
		{name: "outside module", opts: []GoOption{WithPackage("./../other")}, want: []string{`WithPackage("./../other")`, "outside"}},
		{name: "pattern", opts: []GoOption{WithPackage("./...")}, want: []string{`WithPackage("./...")`}},
		{name: "empty package", opts: []GoOption{WithPackage("")}, want: []string{`WithPackage("")`}},
		{name: "name with slash", opts: []GoOption{WithOutputName("bin/app")}, want: []string{`WithOutputName("bin/app")`}},
		{name: "empty name", opts: []GoOption{WithOutputName("")}, want: []string{`WithOutputName("")`}},
		{name: "tag with comma", opts: []GoOption{WithTags("a,b")}, want: []string{`WithTags(["a,b"])`, `"a,b"`}},
		{name: "env without =", opts: []GoOption{WithGoEnv("GOPROXY")}, want: []string{`WithGoEnv("GOPROXY")`, "KEY=VALUE"}},
		{name: "env GOARCH", opts: []GoOption{WithGoEnv("GOARCH=amd64")}, want: []string{`WithGoEnv("GOARCH=amd64")`, "target platform"}},
		{name: "env CGO", opts: []GoOption{WithGoEnv("CGO_ENABLED=1")}, want: []string{`WithGoEnv("CGO_ENABLED=1")`, "WithCGO"}},
		{name: "namespace with space", opts: []GoOption{WithCacheNamespace("a b")}, want: []string{`WithCacheNamespace("a b")`}},
		{name: "namespace with empty element", opts: []GoOption{WithCacheNamespace("a//b")}, want: []string{`WithCacheNamespace("a//b")`}},
		{name: "namespace with ..", opts: []GoOption{WithCacheNamespace("../x")}, want: []string{`WithCacheNamespace("../x")`}},
		{name: "empty namespace", opts: []GoOption{WithCacheNamespace("")}, want: []string{`WithCacheNamespace("")`}},
		{name: "ldflags newline", opts: []GoOption{WithLDFlags("-s\n-w")}, want: []string{"WithLDFlags"}},
		{name: "builder without platform", builder: noPlatform, want: []string{`builder image "golang:1.26-bookworm"`, "no platform"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.builder
			if b.Ref == "" {
				b = testBuilder()
			}
			err := marshalErr(t, GoCompile(testSource(), b, arm64, tt.opts...))
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if len(tt.opts) > 0 {
				if _, err := GoBinaryName(tt.opts...); err == nil {
					t.Error("GoBinaryName accepted the options")
				}
			}
		})
	}
	// A toolchain that did not come from ToolchainFor.
	err := marshalErr(t, GoCompile(testSource(), testBuilder(), platforms.Toolchain{Platform: platforms.MustParse("linux/arm64")}))
	if !strings.Contains(err.Error(), "GOOS/GOARCH") || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("error %q", err)
	}
}

func TestGoBinaryName(t *testing.T) {
	for _, tt := range []struct {
		opts []GoOption
		want string
	}{
		{nil, "app"},
		{[]GoOption{WithPackage(".")}, "app"},
		{[]GoOption{WithPackage("./cmd/server")}, "server"},
		{[]GoOption{WithPackage("./cmd/server/")}, "server"},
		{[]GoOption{WithPackage("./cmd/server"), WithOutputName("srv")}, "srv"},
		{[]GoOption{WithOutputName("srv"), WithPackage("./cmd/server")}, "srv"},
	} {
		got, err := GoBinaryName(tt.opts...)
		if err != nil || got != tt.want {
			t.Errorf("GoBinaryName(%d opts) = %q, %v; want %q", len(tt.opts), got, err, tt.want)
		}
	}
}
