// Command gobuild builds a multi-platform image of a Go program through
// BuildKit, the fast way: the compile stage runs on the BuildKit worker's
// native platform and cross-compiles for every target; only the runtime
// stage is built per target. One OCI image index comes out.
//
//	go run ./examples/gobuild --context DIR --package ./cmd/app \
//	    --platform linux/amd64,linux/arm64,linux/arm/v7 \
//	    --output type=oci,dest=app.tar
//
// Without --context it builds its own testdata hello program, which prints
// the platform it was compiled for. Copy this file to start your own
// builder: everything it does is crossllb's public API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/modfile"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

func main() { buildflags.Main("gobuild", run) }

type config struct {
	*buildflags.Common
	context, pkg, builderImage, runtimeImage string
	ldflags, tags, cacheNS                   string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gobuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{Common: buildflags.Register(fs, "linux/amd64,linux/arm64,linux/arm/v7")}
	fs.StringVar(&c.context, "context", "", "the Go module to build (default: the hello program in examples/gobuild/testdata/hello)")
	fs.StringVar(&c.pkg, "package", ".", "the main package, relative to --context")
	fs.StringVar(&c.builderImage, "builder-image", "golang:1.26-bookworm", "image with the Go toolchain, used on the build platform")
	fs.StringVar(&c.runtimeImage, "runtime-image", "scratch", "base image of the runtime stage, for every target")
	fs.StringVar(&c.ldflags, "ldflags", "", "go build -ldflags")
	fs.StringVar(&c.tags, "tags", "", "go build -tags, comma-separated")
	fs.StringVar(&c.cacheNS, "cache-namespace", "", "keys the Go cache mounts (default: the module path)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gobuild [flags]\n\nBuild a multi-platform image of a Go program, cross-compiled on the BuildKit worker's platform.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, buildflags.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return nil, buildflags.Usagef("unexpected argument %q: every input is a flag", fs.Arg(0))
	}
	if err := c.Common.Parse(); err != nil {
		return nil, err
	}
	if c.context == "" {
		var err error
		if c.context, err = defaultContext(); err != nil {
			return nil, buildflags.UsageError{Err: err}
		}
	}
	return &c, nil
}

// defaultContext finds the hello program next to this file.
func defaultContext() (string, error) {
	candidates := []string{filepath.Join("examples", "gobuild", "testdata", "hello")}
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "testdata", "hello"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "go.mod")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("--context not given and the default hello program is not at %s: pass --context DIR", candidates[0])
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	modPath, err := modulePath(c.context)
	if err != nil {
		return buildflags.UsageError{Err: err}
	}
	name, err := llb.GoBinaryName(goOptions(c, modPath)...)
	if err != nil {
		return buildflags.Usagef("--package: %w", err)
	}
	absContext, err := filepath.Abs(c.context)
	if err != nil {
		return buildflags.Usagef("--context: %w", err)
	}
	contextID := "crossllb-gobuild:" + absContext

	cl, err := solver.Connect(ctx, c.Addr)
	if err != nil {
		return err
	}
	defer cl.Close()

	created := c.Created()
	target := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		builder, err := llb.ResolveBase(ctx, t.Resolver, c.builderImage, t.Build)
		if err != nil {
			return bk.State{}, ocispec.Image{}, fmt.Errorf("--builder-image: %w", err)
		}
		base, err := llb.ResolveBase(ctx, t.Resolver, c.runtimeImage, t.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, fmt.Errorf("--runtime-image: %w", err)
		}
		tc, err := platforms.ToolchainFor(t.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		// A fixed unique ID keeps the source op (and so the shared module
		// download step) identical across targets.
		src := bk.Local("context", bk.SharedKeyHint(modPath), bk.LocalUniqueID(contextID), bk.ExcludePatterns([]string{".git"}))
		spec := llb.ImageSpec{Labels: c.Labels, Created: &created}
		st := llb.GoImage(src, builder, base, tc, spec, goOptions(c, modPath))
		return st.Runtime, st.Config, nil
	}

	ann := llb.OCIAnnotations{Created: &created, Title: name}.Map()
	opts := append(c.Options(stderr, ann, llb.GoBinaryDir+"/"+name), solver.WithLocal("context", c.context))
	res, err := cl.Build(ctx, c.Targets, target, opts...)
	if err != nil {
		return err
	}
	return c.PrintResult(stdout, res)
}

func goOptions(c *config, modPath string) []llb.GoOption {
	ns := c.cacheNS
	if ns == "" {
		ns = modPath
	}
	opts := []llb.GoOption{llb.WithPackage(c.pkg), llb.WithCacheNamespace(ns)}
	if path.Clean(c.pkg) == "." {
		// The module's main package: name the binary after the module, as
		// `go build` does.
		opts = append(opts, llb.WithOutputName(path.Base(modPath)))
	}
	if c.ldflags != "" {
		opts = append(opts, llb.WithLDFlags(c.ldflags))
	}
	if c.tags != "" {
		opts = append(opts, llb.WithTags(strings.Split(c.tags, ",")...))
	}
	if st, err := os.Stat(filepath.Join(c.context, "vendor", "modules.txt")); err == nil && !st.IsDir() {
		opts = append(opts, llb.WithVendor())
	}
	return opts
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
