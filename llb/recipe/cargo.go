package recipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// CargoLocal is the name under which the Cargo recipe's graph reads its
// context (solver.WithLocal).
const CargoLocal = "context"

// CargoDefaultExcludes are left out of a Cargo context: every .git
// directory and cargo's target directory.
func CargoDefaultExcludes() []string { return []string{"**/.git", "target"} }

// Cargo is the recipe of a Rust program's multi-platform image: cargo
// runs on the build platform and cross-compiles for every target with
// Debian's cross gcc as the linker (llb.CargoCompile); the binary is
// copied into each target's runtime stage at llb.CargoBinaryDir/<Bin> and
// is the entrypoint.
type Cargo struct {
	Image

	// Context is the Cargo project's directory. Required.
	Context string
	// Bin is the binary to build (cargo build --bin). Required.
	Bin string
	// BuilderImage is a Debian-based image on the build platform where
	// Debian's rustc and cargo are installed (with Rustup: an image with
	// rustup). Default llb.DefaultCargoBuilder.
	BuilderImage string

	// Rustup, Musl and Offline are llb.WithRustup, llb.WithMusl and
	// llb.WithCargoOffline.
	Rustup, Musl, Offline bool
	// TargetPackages are Debian -dev packages installed for every target
	// in the compile stage (libssl-dev); BuildPackages are installed for
	// the build platform (pkg-config, cmake).
	TargetPackages, BuildPackages []string
	// EmulatedAptPackages are installed by apt-get on the target, under
	// QEMU when foreign: for packages whose maintainer scripts must run
	// there (llb.Emulated).
	EmulatedAptPackages []string
	// CacheNamespace keys the cargo cache mounts. Default
	// "crossllb-cargo/<Bin>".
	CacheNamespace string
}

// cargoPlan is a checked Cargo recipe.
type cargoPlan struct {
	c         *Cargo
	all       []platforms.Toolchain
	noLock    bool
	contextID string
	opts      []llb.CargoOption
	rtOpts    []llb.RuntimeOption
}

// Check validates the recipe and reads the project, without contacting a
// daemon; Build calls it. Errors name the field.
func (c *Cargo) Check() error {
	_, err := c.plan()
	return err
}

// NoLockFile reports whether the project has no Cargo.lock: cargo then
// resolves the dependencies inside the build (not reproducibly), where
// with one it builds --locked.
func (c *Cargo) NoLockFile() bool {
	_, err := os.Stat(filepath.Join(c.Context, "Cargo.lock"))
	return errors.Is(err, os.ErrNotExist)
}

func (c *Cargo) plan() (*cargoPlan, error) {
	if err := c.Image.check(); err != nil {
		return nil, err
	}
	if c.Context == "" {
		return nil, errors.New("Context: the Cargo project's directory is required")
	}
	if st, err := os.Stat(filepath.Join(c.Context, "Cargo.toml")); err != nil || st.IsDir() {
		return nil, fmt.Errorf("Context %s: no Cargo.toml (a Cargo project is needed)", c.Context)
	}
	if c.Bin == "" {
		return nil, errors.New("Bin: the binary to build is required")
	}
	if err := llb.CheckBinaryName(c.Bin); err != nil {
		return nil, fmt.Errorf("Bin: %w", err)
	}
	p := &cargoPlan{c: c, noLock: c.NoLockFile()}
	for _, t := range c.Platforms {
		tc, err := platforms.ToolchainFor(t)
		if err != nil {
			return nil, fmt.Errorf("Platforms: %w", err)
		}
		if tc.RustTarget == "" || tc.GNUTriple == "" {
			return nil, fmt.Errorf("Platforms: %s has no Rust target with a Debian cross toolchain (it is a Go-only platform): leave it out", platforms.Format(t))
		}
		if c.Musl && tc.RustMuslTarget == "" {
			return nil, fmt.Errorf("Platforms: %s has no musl Rust target: leave it out or drop Musl", platforms.Format(t))
		}
		p.all = append(p.all, tc)
	}
	if c.Musl && !c.Rustup {
		return nil, errors.New("Musl needs Rustup: Debian's rustc has no standard library for musl targets")
	}
	ns := c.CacheNamespace
	if ns == "" {
		ns = "crossllb-cargo/" + c.Bin
	}
	p.opts = []llb.CargoOption{llb.WithCargoCacheNamespace(ns)}
	if c.Rustup {
		p.opts = append(p.opts, llb.WithRustup())
	}
	if c.Musl {
		p.opts = append(p.opts, llb.WithMusl())
	}
	if c.Offline {
		p.opts = append(p.opts, llb.WithCargoOffline())
	}
	if p.noLock {
		p.opts = append(p.opts, llb.WithoutCargoLock())
	}
	if len(c.TargetPackages) > 0 {
		p.opts = append(p.opts, llb.WithTargetPackages(c.TargetPackages...))
	}
	if len(c.BuildPackages) > 0 {
		p.opts = append(p.opts, llb.WithBuildPackages(c.BuildPackages...))
	}
	if err := llb.CheckCargoOptions(p.opts...); err != nil {
		return nil, err
	}
	if len(c.EmulatedAptPackages) > 0 {
		if c.isScratch() {
			return nil, fmt.Errorf("EmulatedAptPackages %q with the scratch runtime image: scratch has no package manager; use a Debian-based RuntimeImage", c.EmulatedAptPackages)
		}
		p.rtOpts = append(p.rtOpts, llb.Emulated(llb.WithAptInstall(c.EmulatedAptPackages...)))
	}
	if err := llb.CheckRuntimeOptions(append(c.runtimeOptions(), p.rtOpts...)...); err != nil {
		return nil, err
	}
	var err error
	if p.contextID, err = contextID("cargo", c.Context); err != nil {
		return nil, fmt.Errorf("Context: %w", err)
	}
	return p, nil
}

// BinaryPath is the binary's path in the image (what is verified).
func (c *Cargo) BinaryPath() string { return llb.CargoBinaryDir + "/" + c.Bin }

// Build builds the image on b and lets its exporters write one index:
// give the outputs, progress, cache and the like in opts. The recipe adds
// its own options first: the context (solver.WithLocal, CargoLocal, with
// CargoDefaultExcludes, its .dockerignore and Exclude), verification of
// the binary (unless NoVerify) and the annotations.
func (c *Cargo) Build(ctx context.Context, b Builder, opts ...solver.BuildOption) (*solver.Result, error) {
	p, err := c.plan()
	if err != nil {
		return nil, err
	}
	created := c.created()
	own := c.options(CargoLocal, c.Context, CargoDefaultExcludes(), c.Bin, created, []string{c.BinaryPath()})
	return b.Build(ctx, c.Platforms, p.target(created), append(own, opts...)...)
}

// Target is the recipe as a solver.TargetFunc, for a caller that builds it
// with options of its own: give it the context with
// solver.WithLocal(CargoLocal, c.Context).
func (c *Cargo) Target() (solver.TargetFunc, error) {
	p, err := c.plan()
	if err != nil {
		return nil, err
	}
	return p.target(c.created()), nil
}

func (p *cargoPlan) target(created *time.Time) solver.TargetFunc {
	c := p.c
	return func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		builderRef := c.BuilderImage
		if builderRef == "" {
			builderRef = llb.DefaultCargoBuilder
		}
		r, err := c.resolve(ctx, t, builderRef)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		builder, base, rtOpts := r.builder, r.base, r.steps
		rtOpts = append(rtOpts, p.rtOpts...)
		tc, err := platforms.ToolchainFor(t.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		src := localSource(CargoLocal, p.contextID, p.contextID)
		opts := make([]llb.ImageOption, 0, len(p.opts)+len(rtOpts))
		for _, o := range p.opts {
			opts = append(opts, o)
		}
		for _, o := range rtOpts {
			opts = append(opts, o)
		}
		st := llb.CargoImage(src, builder, base, c.Bin, tc, p.all, c.spec(created), opts...)
		return st.Runtime, st.Config, nil
	}
}
