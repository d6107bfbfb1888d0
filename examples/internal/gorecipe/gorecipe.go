// Package gorecipe is the Go image recipe the gobuild and multinode
// examples share: its flags (--context, --package, --builder-image,
// --runtime-image, --ldflags, --tags, --cache-namespace) and the
// solver.TargetFunc that cross-compiles on the build platform and copies
// the binary into each target's runtime stage. Copy it along with an
// example.
package gorecipe

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/modfile"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// Flags are the recipe's flags.
type Flags struct {
	Context, Package, BuilderImage, RuntimeImage string
	LDFlags, Tags, CacheNamespace                string
	// NetrcSecret is the build secret the go commands read as their
	// netrc (llb.WithNetrcSecret), for private modules: the examples set
	// it to "netrc" when --secret id=netrc is given.
	NetrcSecret string
}

// NetrcSecretID is the --secret id the Go examples hand to the go
// commands as their netrc.
const NetrcSecretID = "netrc"

// SecretsUse is the Go examples' --secret help: what they do with one.
const SecretsUse = "id=" + NetrcSecretID + " is the netrc of go mod download and go build (private modules: machine HOST login USER password TOKEN)"

// Register adds the recipe's flags to fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Context, "context", "", "the Go module to build (default: the hello program in examples/gobuild/testdata/hello)")
	fs.StringVar(&f.Package, "package", ".", "the main package, relative to --context")
	fs.StringVar(&f.BuilderImage, "builder-image", "golang:1.26-bookworm", "image with the Go toolchain, used on the build platform")
	fs.StringVar(&f.RuntimeImage, "runtime-image", "scratch", "base image of the runtime stage, for every target")
	fs.StringVar(&f.LDFlags, "ldflags", "", "go build -ldflags")
	fs.StringVar(&f.Tags, "tags", "", "go build -tags, comma-separated")
	fs.StringVar(&f.CacheNamespace, "cache-namespace", "", "keys the Go cache mounts (default: the module path)")
	return f
}

// Recipe is the checked recipe for one module.
type Recipe struct {
	flags *Flags
	// Context is the module's directory, to pass to solver.WithLocal as
	// LocalName.
	Context string
	// ModulePath is the module's path, from its go.mod.
	ModulePath string
	// Binary is the binary's name; it is installed in llb.GoBinaryDir.
	Binary    string
	contextID string
}

// DefaultExclude is left out of a Go context by default: every .git
// directory, nested ones included.
const DefaultExclude = "**/.git"

// LocalName is the name the recipe's graph reads the context under.
const LocalName = "context"

// Recipe checks the flags (their errors name the flag) and reads the
// module.
func (f *Flags) Recipe() (*Recipe, error) {
	if f.Context == "" {
		var err error
		if f.Context, err = defaultContext(); err != nil {
			return nil, err
		}
	}
	modPath, err := modulePath(f.Context)
	if err != nil {
		return nil, err
	}
	r := &Recipe{flags: f, Context: f.Context, ModulePath: modPath}
	if r.Binary, err = llb.GoBinaryName(r.goOptions()...); err != nil {
		return nil, fmt.Errorf("--package: %w", err)
	}
	if err := checkPackageDir(f.Context, f.Package); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(f.Context)
	if err != nil {
		return nil, fmt.Errorf("--context: %w", err)
	}
	r.contextID = "crossllb-gobuild:" + abs
	return r, nil
}

// BinaryPath is the binary's absolute path in a Linux image (for
// WithVerify, which adds ".exe" on a windows target as the image has it).
func (r *Recipe) BinaryPath() string { return llb.GoBinaryDir + "/" + r.Binary }

// RuntimeIsScratch reports whether the runtime image is scratch, where
// only a static binary runs (buildflags.Common.StaticDefault).
func (r *Recipe) RuntimeIsScratch() bool { return r.flags.RuntimeImage == "scratch" }

// CheckTargets refuses, before anything is solved, targets the recipe
// cannot build an image for: a windows target on the scratch runtime
// image (a Windows image needs a Windows base; see llb.GoImage).
func (r *Recipe) CheckTargets(targets []ocispec.Platform) error {
	if !r.RuntimeIsScratch() {
		return nil
	}
	for _, t := range targets {
		if t.OS == "windows" {
			return fmt.Errorf("--platform %s with --runtime-image scratch: a Windows image needs a Windows runtime base "+
				"(its layers are written under Files/ on top of a Windows base layer, and scratch has none): "+
				"pass --runtime-image with a Windows base image, or leave %s out of --platform",
				platforms.Format(t), platforms.Format(t))
		}
	}
	return nil
}

// Target is the recipe as a solver.TargetFunc: the builder image on the
// build platform the solver reports, the runtime image on the target.
func (r *Recipe) Target(labels map[string]string, created time.Time) solver.TargetFunc {
	return func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		builder, err := llb.ResolveBase(ctx, t.Resolver, r.flags.BuilderImage, t.Build)
		if err != nil {
			return bk.State{}, ocispec.Image{}, fmt.Errorf("--builder-image: %w", err)
		}
		base, err := llb.ResolveBase(ctx, t.Resolver, r.flags.RuntimeImage, t.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, fmt.Errorf("--runtime-image: %w", err)
		}
		tc, err := platforms.ToolchainFor(t.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		// A fixed unique ID keeps the source op (and so the shared module
		// download step) identical across targets.
		// What the context sends is filtered on this side (DefaultExcludes,
		// .dockerignore, --exclude: see buildflags.Common.Local).
		src := bk.Local(LocalName, bk.SharedKeyHint(r.ModulePath), bk.LocalUniqueID(r.contextID))
		spec := llb.ImageSpec{Labels: labels, Created: &created}
		st := llb.GoImage(src, builder, base, tc, spec, r.goOptions())
		return st.Runtime, st.Config, nil
	}
}

func (r *Recipe) goOptions() []llb.GoOption {
	f := r.flags
	ns := f.CacheNamespace
	if ns == "" {
		ns = r.ModulePath
	}
	opts := []llb.GoOption{llb.WithPackage(f.Package), llb.WithCacheNamespace(ns)}
	if path.Clean(f.Package) == "." {
		// The module's main package: name the binary after the module, as
		// `go build` does.
		opts = append(opts, llb.WithOutputName(path.Base(r.ModulePath)))
	}
	if f.LDFlags != "" {
		opts = append(opts, llb.WithLDFlags(f.LDFlags))
	}
	if f.Tags != "" {
		opts = append(opts, llb.WithTags(strings.Split(f.Tags, ",")...))
	}
	if f.NetrcSecret != "" {
		opts = append(opts, llb.WithNetrcSecret(f.NetrcSecret))
	}
	if st, err := os.Stat(filepath.Join(f.Context, "vendor", "modules.txt")); err == nil && !st.IsDir() {
		opts = append(opts, llb.WithVendor())
	}
	return opts
}

// checkPackageDir checks, before anything is built, that pkg (relative to
// the module root: WithPackage refuses other forms) is a directory of
// ctxDir with Go files: a wrong --package would otherwise fail inside the
// build, naming a path in the build container.
func checkPackageDir(ctxDir, pkg string) error {
	dir := filepath.Join(ctxDir, filepath.FromSlash(pkg))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--package %s: there is no directory %s in --context %s: give the main package's directory, relative to the module root (e.g. ./cmd/app)", pkg, pkg, ctxDir)
	}
	if goFiles, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(goFiles) == 0 {
		return fmt.Errorf("--package %s: %s in --context %s has no .go files: give the main package's directory", pkg, pkg, ctxDir)
	}
	return nil
}

// defaultContext finds the hello program of examples/gobuild.
func defaultContext() (string, error) {
	candidates := []string{filepath.Join("examples", "gobuild", "testdata", "hello")}
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "..", "gobuild", "testdata", "hello"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "go.mod")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("--context not given and the default hello program is not at %s: pass --context DIR", candidates[0])
}

// modulePath reads the module path from DIR/go.mod: it names the cache
// namespace, so that two projects never share cache mounts by accident.
func modulePath(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("--context %s: %w", dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("--context %s: not a directory", dir)
	}
	dt, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("--context %s: no go.mod (a Go module is needed): %w", dir, err)
	}
	p := modfile.ModulePath(dt)
	if p == "" {
		return "", fmt.Errorf("--context %s: go.mod has no module line", dir)
	}
	return p, nil
}
