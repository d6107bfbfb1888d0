package recipe

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// anyImage resolves every image for every platform, as a registry with
// multi-platform indexes does.
type anyImage struct{}

func (anyImage) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	dt, err := json.Marshal(ocispec.Image{Platform: *opt.ImageOpt.Platform, Config: ocispec.ImageConfig{Env: []string{"PATH=/usr/bin:/bin"}}})
	return ref, digest.FromString(ref), dt, err
}

// recorder is a Builder that runs the TargetFunc for each target on a
// linux/amd64 build platform and keeps the graphs and configs, without a
// daemon; it counts the options it was given.
type recorder struct {
	defs    map[string]*bk.Definition
	configs map[string]ocispec.Image
	opts    int
}

func (r *recorder) Build(ctx context.Context, targets []ocispec.Platform, fn solver.TargetFunc, opts ...solver.BuildOption) (*solver.Result, error) {
	r.defs, r.configs, r.opts = map[string]*bk.Definition{}, map[string]ocispec.Image{}, len(opts)
	for _, p := range targets {
		st, img, err := fn(ctx, solver.Target{Platform: p, BuildPlatform: platforms.MustParse("linux/amd64"), Resolver: anyImage{}})
		if err != nil {
			return nil, err
		}
		def, err := st.Marshal(ctx, bk.Platform(p))
		if err != nil {
			return nil, err
		}
		r.defs[platforms.Format(p)], r.configs[platforms.Format(p)] = def, img
	}
	return &solver.Result{}, nil
}

// execArgs lists the exec ops' arguments of def, joined by spaces.
func execArgs(t *testing.T, def *bk.Definition) []string {
	t.Helper()
	var out []string
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		if e := op.GetExec(); e != nil {
			out = append(out, strings.Join(e.Meta.Args, " "))
		}
	}
	return out
}

func helloModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for f, content := range map[string]string{
		"go.mod":            "module example.com/hello\n\ngo 1.26\n",
		"main.go":           "package main\n\nfunc main() {}\n",
		"cmd/tool/main.go":  "package main\n\nfunc main() {}\n",
		"internal/x/x.go":   "package x\n",
		"tools/gen/main.go": "package main\n\nfunc main() {}\n",
	} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func targets() []ocispec.Platform {
	return []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")}
}

func TestGoRecipeGraph(t *testing.T) {
	g := &Go{
		Image:    Image{Platforms: targets(), RuntimeImage: "debian:bookworm-slim", User: &llb.SystemUser{Name: "app"}},
		Context:  helloModule(t),
		Binaries: []GoBinary{{Package: "."}, {Package: "./cmd/tool"}},
		Generate: [][]string{{"go", "run", "./tools/gen"}},
	}
	var r recorder
	if _, err := g.Build(t.Context(), &r, solver.WithNoCache()); err != nil {
		t.Fatal(err)
	}
	if r.opts < 4 {
		t.Errorf("Build passed %d options, want the recipe's (local, annotations, verify) and the caller's", r.opts)
	}
	for _, p := range targets() {
		id := platforms.Format(p)
		args := execArgs(t, r.defs[id])
		for _, want := range []string{"go run ./tools/gen", "go mod download"} {
			if !slices.Contains(args, want) {
				t.Errorf("%s: no %q step in %q", id, want, args)
			}
		}
		builds := 0
		for _, a := range args {
			if strings.HasPrefix(a, "go build") {
				builds++
			}
		}
		if builds != 2 {
			t.Errorf("%s: %d go build steps, want one per binary: %q", id, builds, args)
		}
		cfg := r.configs[id]
		if !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/hello"}) || cfg.Config.User != "333333:333333" {
			t.Errorf("%s: entrypoint %q user %q, want the first binary and the system user", id, cfg.Config.Entrypoint, cfg.Config.User)
		}
		if cfg.Config.Labels[ocispec.AnnotationTitle] != "" {
			t.Errorf("labels %v: the title is an annotation, not a label", cfg.Config.Labels)
		}
	}
	paths, err := g.BinaryPaths()
	if err != nil || !slices.Equal(paths, []string{"/usr/local/bin/hello", "/usr/local/bin/tool"}) {
		t.Errorf("BinaryPaths = %q, %v", paths, err)
	}
}

func TestGoRecipeCheck(t *testing.T) {
	mod := helloModule(t)
	win := platforms.MustParse("windows/amd64")
	for _, tc := range []struct {
		g    Go
		want string
	}{
		{Go{Context: mod}, "Platforms: no target platform"},
		{Go{Image: Image{Platforms: targets()}}, "Context: the module's directory is required"},
		{Go{Image: Image{Platforms: targets()}, Context: t.TempDir()}, "no go.mod"},
		{Go{Image: Image{Platforms: targets()}, Context: mod, Binaries: []GoBinary{{Package: "./cmd/nope"}}}, "Binaries[0]: package ./cmd/nope: there is no directory"},
		{Go{Image: Image{Platforms: targets()}, Context: mod, Binaries: []GoBinary{{Package: "./internal"}}}, "has no .go files"},
		{Go{Image: Image{Platforms: targets()}, Context: mod, Binaries: []GoBinary{{Package: "../x"}}}, "outside the module"},
		{Go{Image: Image{Platforms: targets()}, Context: mod, Binaries: []GoBinary{{Package: "./cmd/tool"}, {Package: "./tools/gen", Name: "tool"}}}, `both named "tool"`},
		{Go{Image: Image{Platforms: append(targets(), targets()[0])}, Context: mod}, "linux/amd64 is given twice"},
		{Go{Image: Image{Platforms: []ocispec.Platform{win}}, Context: mod}, "a Windows image needs a Windows runtime base"},
		{Go{Image: Image{Platforms: targets(), AptPackages: []string{"curl"}}, Context: mod}, "AptPackages [\"curl\"] with the scratch runtime image"},
		{Go{Image: Image{Platforms: targets(), User: &llb.SystemUser{Name: "app", Dirs: []string{"/data"}}}, Context: mod}, "User.Dirs"},
		{Go{Image: Image{Platforms: targets()}, Context: mod, Generate: [][]string{{}}}, "Generate[0]: empty command"},
	} {
		err := tc.g.Check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want it to contain %q", tc.g, err, tc.want)
		}
	}
	ok := Go{Image: Image{Platforms: targets(), User: &llb.SystemUser{Name: "app"}}, Context: mod}
	if err := ok.Check(); err != nil {
		t.Errorf("a user on scratch (not created, the image runs as its uid): %v", err)
	}
}

// TestImageStaticDefault: on scratch the binaries must be static unless
// the caller says otherwise.
func TestImageStaticDefault(t *testing.T) {
	no := false
	for _, tc := range []struct {
		im   Image
		want bool
	}{
		{Image{}, true},
		{Image{RuntimeImage: "scratch"}, true},
		{Image{RuntimeImage: "debian:bookworm-slim"}, false},
		{Image{Static: &no}, false},
	} {
		if got := tc.im.static(); got != tc.want {
			t.Errorf("%+v: static() = %v, want %v", tc.im, got, tc.want)
		}
	}
}

func TestCargoRecipeCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Cargo.toml"), []byte("[package]\nname = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    Cargo
		want string
	}{
		{Cargo{Image: Image{Platforms: targets()}, Bin: "x"}, "Context"},
		{Cargo{Image: Image{Platforms: targets()}, Context: t.TempDir(), Bin: "x"}, "no Cargo.toml"},
		{Cargo{Image: Image{Platforms: targets()}, Context: dir}, "Bin: the binary to build is required"},
		{Cargo{Image: Image{Platforms: targets()}, Context: dir, Bin: "x", Musl: true}, "Musl needs Rustup"},
		{Cargo{Image: Image{Platforms: targets()}, Context: dir, Bin: "x", TargetPackages: []string{"a b"}}, "WithTargetPackages"},
		{Cargo{Image: Image{Platforms: targets(), RuntimeImage: "scratch"}, Context: dir, Bin: "x", EmulatedAptPackages: []string{"tzdata"}}, "EmulatedAptPackages"},
		{Cargo{Image: Image{Platforms: []ocispec.Platform{platforms.MustParse("windows/amd64")}}, Context: dir, Bin: "x"}, "windows/amd64"},
	} {
		err := tc.c.Check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want it to contain %q", tc.c, err, tc.want)
		}
	}
	c := Cargo{Image: Image{Platforms: targets(), RuntimeImage: "debian:bookworm-slim", AptPackages: []string{"ca-certificates"}}, Context: dir, Bin: "x"}
	if !c.NoLockFile() {
		t.Error("NoLockFile() = false for a project without Cargo.lock")
	}
	var r recorder
	if _, err := c.Build(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
	args := execArgs(t, r.defs["linux/arm64"])
	found := false
	for _, a := range args {
		if strings.Contains(a, "cargo build") && !strings.Contains(a, "--locked") {
			found = true
		}
	}
	if !found {
		t.Errorf("no cargo build without --locked for a project without Cargo.lock: %q", args)
	}
	if got := r.configs["linux/arm64"].Config.Entrypoint; !slices.Equal(got, []string{"/usr/local/bin/x"}) {
		t.Errorf("entrypoint %q", got)
	}
}

// TestCreatedDefault: without Image.Created the config has no creation
// time (BuildKit sets the newest layer's, stable across rebuilds); with
// it, the config carries it in UTC.
func TestCreatedDefault(t *testing.T) {
	for _, created := range []*time.Time{nil, new(time.Unix(1700000000, 0).In(time.FixedZone("x", 3600)))} {
		g := &Go{Image: Image{Platforms: targets(), RuntimeImage: "debian:bookworm-slim", Created: created}, Context: helloModule(t)}
		var r recorder
		if _, err := g.Build(t.Context(), &r); err != nil {
			t.Fatal(err)
		}
		for id, cfg := range r.configs {
			switch {
			case created == nil && cfg.Created != nil:
				t.Errorf("%s: created %v without Image.Created, want none (BuildKit's)", id, cfg.Created)
			case created != nil && (cfg.Created == nil || !cfg.Created.Equal(*created) || cfg.Created.Location() != time.UTC):
				t.Errorf("%s: created %v, want %v in UTC", id, cfg.Created, created)
			}
		}
	}
}

// barrier resolves like anyImage, but only once n resolutions are under
// way at the same time: resolutions made one after the other time out.
type barrier struct {
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (b *barrier) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	b.mu.Lock()
	if b.arrived++; b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(5 * time.Second):
		return "", "", nil, fmt.Errorf("%s: the other resolutions did not start while this one waited", ref)
	}
	return anyImage{}.ResolveImageConfig(ctx, ref, opt)
}

// TestResolveAtOnce: a target's builder, runtime base and build-platform
// tools are resolved at the same time (each is a round trip to the
// daemon and the registry), each for its platform.
func TestResolveAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		im    Image
		n     int // resolutions
		steps int // the build tools and the user
	}{
		{"no runtime steps", Image{RuntimeImage: "debian:bookworm-slim"}, 2, 0},
		{"native runtime steps", Image{RuntimeImage: "debian:bookworm-slim", User: &llb.SystemUser{Name: "app"}}, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &barrier{n: tc.n, all: make(chan struct{})}
			target := solver.Target{Platform: platforms.MustParse("linux/arm64"), BuildPlatform: platforms.MustParse("linux/amd64"), Resolver: b}
			r, err := tc.im.resolve(t.Context(), target, "golang:1.26-bookworm")
			if err != nil {
				t.Fatal(err)
			}
			if r.builder.Platform.Architecture != "amd64" || r.base.Platform.Architecture != "arm64" {
				t.Errorf("builder for %v, base for %v: want the build platform's and the target's", r.builder.Platform, r.base.Platform)
			}
			if len(r.steps) != tc.steps {
				t.Errorf("%d runtime steps, want %d", len(r.steps), tc.steps)
			}
		})
	}
}
