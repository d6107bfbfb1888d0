package recipe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// Builder is where a recipe builds: a [*solver.Client] (one buildkitd) or
// a [*solver.Fleet] (several, each target on a node of its platform).
type Builder interface {
	Build(ctx context.Context, targets []ocispec.Platform, fn solver.TargetFunc, opts ...solver.BuildOption) (*solver.Result, error)
}

var (
	_ Builder = (*solver.Client)(nil)
	_ Builder = (*solver.Fleet)(nil)
)

// Image is what the recipes share: the targets, the runtime stage and the
// image's metadata.
type Image struct {
	// Platforms are the targets, one manifest each in the index.
	// Required.
	Platforms []ocispec.Platform

	// RuntimeImage is the runtime stage's base for every target
	// ("debian:bookworm-slim"); "scratch" (the Go recipe's default) is
	// the empty image.
	RuntimeImage string
	// User, if set, is created in the runtime stage with its directories
	// (llb.WithSystemUser) and the image runs as it (numeric uid:gid). On
	// scratch it is not created (there are no account files): the image
	// only runs as its uid:gid, and Dirs must be empty.
	User *llb.SystemUser
	// AptPackages are Debian packages installed in each target's runtime
	// stage (llb.WithAptInstall).
	AptPackages []string
	// EmulatedSteps runs User and AptPackages on the target, under QEMU
	// when it is foreign, instead of on the build platform editing the
	// target's files (llb.WithBuildTools, the default: nothing emulated).
	EmulatedSteps bool

	// Labels are image config labels; Annotations are set on the index
	// and every manifest. Both come on top of the recipe's own
	// org.opencontainers.image.created and .title.
	Labels, Annotations map[string]string
	// Created is the image's creation time: its config's, and the
	// org.opencontainers.image.created annotation's. Nil (the default)
	// leaves the config's to BuildKit, which sets the time the image's
	// newest layer was first built, so that a rebuild of unchanged
	// sources gives the same digests (as a Dockerfile build does); the
	// annotation is then left out, its value being unknown before the
	// build. For digests reproducible on any machine give a fixed time,
	// and the same to solver.WithSourceDateEpoch.
	Created *time.Time

	// Exclude lists patterns (.dockerignore syntax) left out of the
	// context, after its .dockerignore and the recipe's defaults.
	Exclude []string

	// NoVerify turns off the check of the recipe's binaries before export
	// (solver.WithVerify: header for the platform, interpreter, libraries
	// and glibc versions in the image). Verification is on by default.
	NoVerify bool
	// Static requires the binaries to be static (solver.WithStatic).
	// Nil: static exactly when RuntimeImage is scratch, where nothing
	// could load a dynamic binary's libraries.
	Static *bool
}

// isScratch reports whether the runtime image is the empty image.
func (im *Image) isScratch() bool { return im.RuntimeImage == "" || im.RuntimeImage == "scratch" }

// check validates the fields every recipe has.
func (im *Image) check() error {
	if len(im.Platforms) == 0 {
		return errors.New("Platforms: no target platform: give at least one, e.g. platforms.MustParse(\"linux/arm64\")")
	}
	for i, p := range im.Platforms {
		if _, err := platforms.ToolchainFor(p); err != nil {
			return fmt.Errorf("Platforms[%d]: %w", i, err)
		}
		for _, q := range im.Platforms[:i] {
			if platforms.Equal(q, p) {
				return fmt.Errorf("Platforms: %s is given twice", platforms.Format(p))
			}
		}
	}
	if im.isScratch() {
		switch {
		case im.User != nil && len(im.User.Dirs) > 0:
			return fmt.Errorf("User.Dirs %q with the scratch runtime image: scratch has no account files to own them; use a Debian-based RuntimeImage", im.User.Dirs)
		case len(im.AptPackages) > 0:
			return fmt.Errorf("AptPackages %q with the scratch runtime image: scratch has no package manager; use a Debian-based RuntimeImage", im.AptPackages)
		}
	}
	return nil
}

// created is the image's creation time, nil to leave it to BuildKit.
func (im *Image) created() *time.Time {
	if im.Created == nil {
		return nil
	}
	t := im.Created.UTC()
	return &t
}

// static reports whether the binaries must be static.
func (im *Image) static() bool {
	if im.Static != nil {
		return *im.Static
	}
	return im.isScratch()
}

// runtimeOptions are the runtime stage's steps for im.
func (im *Image) runtimeOptions() []llb.RuntimeOption {
	var opts []llb.RuntimeOption
	if len(im.AptPackages) > 0 {
		opts = append(opts, llb.WithAptInstall(im.AptPackages...))
	}
	if im.User != nil && !im.isScratch() {
		opts = append(opts, llb.WithSystemUser(*im.User))
	}
	return opts
}

// resolved are the images one target is built from: the builder (on the
// build platform), the runtime base (the target's), and the runtime steps
// (with the build-platform tools that make them natively, if they do).
type resolved struct {
	builder, base llb.Base
	steps         []llb.RuntimeOption
}

// resolve resolves, at once rather than one after the other (each is a
// round trip to the daemon, and to the registry behind it), the builder
// image builderRef for the build platform, the runtime image for t's
// target, named as the target's base (its layers stay as they are under
// an epoch), and, when the runtime steps run on the build platform, the
// runtime image for the build platform too: the tools that edit the
// target's files. Its error is the first of the three, in that order.
func (im *Image) resolve(ctx context.Context, t solver.Target, builderRef string) (resolved, error) {
	steps := im.runtimeOptions()
	native := len(steps) > 0 && !im.EmulatedSteps
	var (
		r                      resolved
		tools                  llb.Base
		errBuild, errRT, errTo error
		wg                     sync.WaitGroup
	)
	wg.Go(func() { r.builder, errBuild = llb.ResolveBase(ctx, t.Resolver, builderRef, t.BuildPlatform) })
	wg.Go(func() { r.base, errRT = llb.ResolveBase(ctx, t.Resolver, im.RuntimeImage, t.Platform) })
	if native {
		wg.Go(func() { tools, errTo = llb.ResolveBase(ctx, t.Resolver, im.RuntimeImage, t.BuildPlatform) })
	}
	wg.Wait()
	switch {
	case errBuild != nil:
		return resolved{}, fmt.Errorf("BuilderImage: %w", errBuild)
	case errRT != nil:
		return resolved{}, fmt.Errorf("RuntimeImage: %w", errRT)
	case errTo != nil:
		return resolved{}, fmt.Errorf("RuntimeImage for the build platform (the runtime steps run there; EmulatedSteps runs them on the target): %w", errTo)
	}
	if !r.base.IsScratch() {
		t.SetBase(r.base.Config)
	}
	r.steps = steps
	if native {
		r.steps = append([]llb.RuntimeOption{llb.WithBuildTools(tools)}, steps...)
	}
	return r, nil
}

// spec is the image spec for a binary titled title.
func (im *Image) spec(created *time.Time) llb.ImageSpec {
	spec := llb.ImageSpec{Labels: maps.Clone(im.Labels), Created: created}
	if im.User != nil {
		spec.User = im.User.ConfigUser()
	}
	return spec
}

// options are the solver options of a recipe: its context, verification
// and annotations; the caller's options come after them.
func (im *Image) options(localName, dir string, defaultExclude []string, title string, created *time.Time, verify []string) []solver.BuildOption {
	ann := llb.OCIAnnotations{Created: created, Title: title}.Map()
	maps.Copy(ann, im.Annotations)
	opts := []solver.BuildOption{
		solver.WithLocal(localName, dir, solver.LocalExclude(slices.Concat(defaultExclude, im.Exclude)...)),
		solver.WithAnnotations(ann, ann),
	}
	if !im.NoVerify {
		opts = append(opts, solver.WithVerify(verify...))
		if im.static() {
			opts = append(opts, solver.WithStatic())
		}
	}
	return opts
}

// contextID names a context directory in the graph: a fixed ID keeps the
// source op, and everything built on it before the target-specific steps
// (the module download), identical across targets.
func contextID(kind, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return "crossllb-" + kind + ":" + abs, nil
}

// localSource is the context as the recipes' graphs read it.
func localSource(name, hint, id string) bk.State {
	return bk.Local(name, bk.SharedKeyHint(hint), bk.LocalUniqueID(id))
}
