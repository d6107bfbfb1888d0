package recipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/modfile"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// DefaultGoBuilder is the Go recipe's builder image.
const DefaultGoBuilder = "golang:1.26-bookworm"

// GoLocal is the name under which the Go recipe's graph reads its
// context (solver.WithLocal).
const GoLocal = "context"

// GoDefaultExclude is left out of a Go context: every .git directory,
// nested ones included.
const GoDefaultExclude = "**/.git"

// GoBinary is one main package of the module and its binary's name.
type GoBinary struct {
	// Package is the main package, relative to the module root
	// ("./cmd/server"; "." for the root).
	Package string
	// Name is the binary's file name. Default: the last element of the
	// package path, or of the module path for ".".
	Name string
}

// Go is the recipe of a Go program's multi-platform image: the module is
// compiled on the build platform for every target (llb.GoCompile), each
// binary copied into the target's runtime stage at
// llb.GoBinaryDir/<name>, the first binary as the entrypoint.
type Go struct {
	Image

	// Context is the module's directory (with its go.mod). Required.
	Context string
	// Binaries are the main packages to build, the first one the
	// entrypoint. Default: the module root package, named after the
	// module.
	Binaries []GoBinary
	// BuilderImage has the Go toolchain; it runs on the build platform.
	// Default DefaultGoBuilder.
	BuilderImage string

	// LDFlags and Tags are go build's -ldflags and -tags; CGO sets
	// CGO_ENABLED=1 (with Debian's cross gcc for foreign targets); Env
	// adds KEY=VALUE to the go commands.
	LDFlags string
	Tags    []string
	CGO     bool
	Env     []string
	// NetrcSecret is the ID of a build secret (solver.WithSecrets) that
	// the go commands read as their netrc, for private modules.
	NetrcSecret string
	// CacheNamespace keys the Go cache mounts. Default: the module path.
	CacheNamespace string

	// Generate lists commands run on the module, in order, on the build
	// platform before the compile, sharing its Go caches
	// (llb.GoGenerate): go generate, code generators, assets. What they
	// write is compiled.
	Generate [][]string
}

// goPlan is a checked Go recipe.
type goPlan struct {
	g          *Go
	modulePath string
	binaries   []GoBinary // names set
	contextID  string
}

// Check validates the recipe and reads the module, without contacting a
// daemon; Build calls it. Errors name the field.
func (g *Go) Check() error {
	_, err := g.plan()
	return err
}

func (g *Go) plan() (*goPlan, error) {
	if err := g.Image.check(); err != nil {
		return nil, err
	}
	if g.Context == "" {
		return nil, errors.New("Context: the module's directory is required")
	}
	modPath, err := modulePath(g.Context)
	if err != nil {
		return nil, err
	}
	p := &goPlan{g: g, modulePath: modPath}
	bins := g.Binaries
	if len(bins) == 0 {
		bins = []GoBinary{{Package: "."}}
	}
	for i, b := range bins {
		if b.Package == "" {
			b.Package = "."
		}
		if b.Name == "" && path.Clean(b.Package) == "." {
			b.Name = path.Base(modPath)
		}
		name, err := llb.GoBinaryName(p.goOptions(b)...)
		if err != nil {
			return nil, fmt.Errorf("Binaries[%d]: %w", i, err)
		}
		b.Name = name
		if err := checkPackageDir(g.Context, b.Package); err != nil {
			return nil, fmt.Errorf("Binaries[%d]: %w", i, err)
		}
		for _, o := range p.binaries {
			if o.Name == b.Name {
				return nil, fmt.Errorf("Binaries[%d]: %s and %s are both named %q: set Name", i, o.Package, b.Package, b.Name)
			}
		}
		p.binaries = append(p.binaries, b)
	}
	for i, cmd := range g.Generate {
		if len(cmd) == 0 || strings.TrimSpace(cmd[0]) == "" {
			return nil, fmt.Errorf("Generate[%d]: empty command", i)
		}
	}
	for _, t := range g.Platforms {
		if t.OS == "windows" && g.isScratch() {
			return nil, fmt.Errorf("Platforms: %s with the scratch runtime image: a Windows image needs a Windows runtime base (its layers are written under Files/ on top of a Windows base layer): set RuntimeImage to one, or leave %s out", platforms.Format(t), platforms.Format(t))
		}
	}
	if p.contextID, err = contextID("go", g.Context); err != nil {
		return nil, fmt.Errorf("Context: %w", err)
	}
	return p, nil
}

// BinaryPaths are the binaries' paths in a Linux target's image (what is
// verified; on windows each has ".exe").
func (g *Go) BinaryPaths() ([]string, error) {
	p, err := g.plan()
	if err != nil {
		return nil, err
	}
	return p.binaryPaths(), nil
}

func (p *goPlan) binaryPaths() []string {
	var out []string
	for _, b := range p.binaries {
		out = append(out, llb.GoBinaryDir+"/"+b.Name)
	}
	return out
}

// Build builds the image on b and lets its exporters write one index:
// give the outputs, progress, cache and the like in opts. The recipe adds
// its own options first: the context (solver.WithLocal, GoLocal, with
// GoDefaultExclude, its .dockerignore and Exclude), verification of its
// binaries (unless NoVerify) and the annotations.
func (g *Go) Build(ctx context.Context, b Builder, opts ...solver.BuildOption) (*solver.Result, error) {
	p, err := g.plan()
	if err != nil {
		return nil, err
	}
	created := g.created()
	own := g.options(GoLocal, g.Context, []string{GoDefaultExclude}, p.binaries[0].Name, created, p.binaryPaths())
	return b.Build(ctx, g.Platforms, p.target(created), append(own, opts...)...)
}

// Target is the recipe as a solver.TargetFunc, for a caller that builds it
// with options of its own: give it the context with
// solver.WithLocal(GoLocal, g.Context).
func (g *Go) Target() (solver.TargetFunc, error) {
	p, err := g.plan()
	if err != nil {
		return nil, err
	}
	return p.target(g.created()), nil
}

func (p *goPlan) target(created *time.Time) solver.TargetFunc {
	g := p.g
	return func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		builderRef := g.BuilderImage
		if builderRef == "" {
			builderRef = DefaultGoBuilder
		}
		r, err := g.resolve(ctx, t, builderRef)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		builder, base, rtOpts := r.builder, r.base, r.steps
		tc, err := platforms.ToolchainFor(t.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		src := localSource(GoLocal, p.modulePath, p.contextID)
		shared := p.goOptions(GoBinary{})
		for _, cmd := range g.Generate {
			src = llb.GoGenerate(src, builder, cmd, shared...)
		}
		var arts []llb.Artifact
		for _, b := range p.binaries {
			arts = append(arts, llb.Artifact{
				From: llb.GoCompile(src, builder, tc, p.goOptions(b)...),
				Path: "/" + b.Name,
				Dest: llb.GoBinaryPath(t.Platform, b.Name),
				Mode: 0o755,
			})
		}
		spec := g.spec(created)
		spec.Entrypoint = llb.GoEntrypoint(t.Platform, p.binaries[0].Name)
		return llb.RuntimeStage(base, arts, rtOpts...), llb.ImageConfig(base, spec), nil
	}
}

// goOptions are the llb options for one binary (b zero: the options every
// Go step shares).
func (p *goPlan) goOptions(b GoBinary) []llb.GoOption {
	g := p.g
	ns := g.CacheNamespace
	if ns == "" {
		ns = p.modulePath
	}
	opts := []llb.GoOption{llb.WithCacheNamespace(ns)}
	if b.Package != "" {
		opts = append(opts, llb.WithPackage(b.Package))
	}
	if b.Name != "" {
		opts = append(opts, llb.WithOutputName(b.Name))
	}
	if g.LDFlags != "" {
		opts = append(opts, llb.WithLDFlags(g.LDFlags))
	}
	if len(g.Tags) > 0 {
		opts = append(opts, llb.WithTags(g.Tags...))
	}
	if g.CGO {
		opts = append(opts, llb.WithCGO(true))
	}
	if len(g.Env) > 0 {
		opts = append(opts, llb.WithGoEnv(g.Env...))
	}
	if g.NetrcSecret != "" {
		opts = append(opts, llb.WithNetrcSecret(g.NetrcSecret))
	}
	if st, err := os.Stat(filepath.Join(g.Context, "vendor", "modules.txt")); err == nil && !st.IsDir() {
		opts = append(opts, llb.WithVendor())
	}
	return opts
}

// checkPackageDir checks, before anything is built, that pkg is a
// directory of the module with Go files: a wrong package would otherwise
// fail inside the build, naming a path in the build container.
func checkPackageDir(ctxDir, pkg string) error {
	dir := filepath.Join(ctxDir, filepath.FromSlash(pkg))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("package %s: there is no directory %s in the module at %s: give the main package's directory, relative to the module root (e.g. ./cmd/app)", pkg, pkg, ctxDir)
	}
	if goFiles, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(goFiles) == 0 {
		return fmt.Errorf("package %s: %s in the module at %s has no .go files: give the main package's directory", pkg, pkg, ctxDir)
	}
	return nil
}

// modulePath reads the module path from dir/go.mod: it names the cache
// namespace, so that two projects never share cache mounts by accident.
func modulePath(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("Context %s: %w", dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("Context %s: not a directory", dir)
	}
	dt, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("Context %s: no go.mod (a Go module is needed): %w", dir, err)
	}
	p := modfile.ModulePath(dt)
	if p == "" {
		return "", fmt.Errorf("Context %s: go.mod has no module line", dir)
	}
	return p, nil
}
