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
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/modfile"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var usage usageError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintf(os.Stderr, "gobuild: %v\nRun 'gobuild --help' for usage.\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "gobuild: %v\n", err)
		os.Exit(1)
	}
}

// usageError is a bad flag: exit code 2, as flag.ExitOnError would.
type usageError struct{ error }

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type config struct {
	addr, context, pkg, builderImage, runtimeImage string
	metadataFile, progress, ldflags, tags, cacheNS string
	sourceDateEpoch                                string
	noCache, verify                                bool
	emulation                                      string
	targets                                        []ocispec.Platform
	outputs                                        []solver.Output
	cacheFrom, cacheTo                             []solver.Cache
	provenance                                     string
	labels                                         map[string]string
	indexAnn, manifestAnn                          map[string]string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gobuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var platformList string
	var outputs, labels, annotations, cacheFrom, cacheTo, attests multiFlag
	fs.StringVar(&c.addr, "addr", "", "buildkitd address (default: $BUILDKIT_HOST, the default socket, or a private buildkitd)")
	fs.StringVar(&c.context, "context", "", "the Go module to build (default: the hello program in examples/gobuild/testdata/hello)")
	fs.StringVar(&c.pkg, "package", ".", "the main package, relative to --context")
	fs.StringVar(&platformList, "platform", "linux/amd64,linux/arm64,linux/arm/v7", "target platforms, comma-separated")
	fs.Var(&outputs, "output", "where the index goes, repeatable: type=oci,dest=PATH[,tar=false] or type=image,name=REF,push=true[,registry.insecure=true]")
	fs.StringVar(&c.builderImage, "builder-image", "golang:1.26-bookworm", "image with the Go toolchain, used on the build platform")
	fs.StringVar(&c.runtimeImage, "runtime-image", "scratch", "base image of the runtime stage, for every target")
	fs.StringVar(&c.metadataFile, "metadata-file", "", "write build metadata (digests) as JSON to this file")
	fs.StringVar(&c.progress, "progress", "auto", "progress output: auto, tty, plain, quiet or rawjson")
	fs.BoolVar(&c.noCache, "no-cache", false, "do not use the build cache")
	fs.BoolVar(&c.verify, "verify", true, "check each image's binary header against its platform before export")
	fs.StringVar(&c.emulation, "emulation", "allow", "steps that would run under emulation: allow (report), warn or forbid")
	fs.Var(&cacheFrom, "cache-from", "import build cache, repeatable: type=registry,ref=REF or type=local,src=DIR")
	fs.Var(&cacheTo, "cache-to", "export build cache, repeatable: type=registry,ref=REF[,mode=max] or type=local,dest=DIR[,mode=max]")
	fs.Var(&attests, "attest", "attestation: type=provenance[,mode=min|max]")
	fs.Var(&labels, "label", "image label key=value, repeatable")
	fs.Var(&annotations, "annotation", "annotation [index:|manifest:]key=value, repeatable (no prefix: both)")
	fs.StringVar(&c.ldflags, "ldflags", "", "go build -ldflags")
	fs.StringVar(&c.tags, "tags", "", "go build -tags, comma-separated")
	fs.StringVar(&c.sourceDateEpoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "seconds since 1970 for every timestamp, for reproducible digests (default $SOURCE_DATE_EPOCH)")
	fs.StringVar(&c.cacheNS, "cache-namespace", "", "keys the Go cache mounts (default: the module path)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gobuild [flags]\n\nBuild a multi-platform image of a Go program, cross-compiled on the BuildKit worker's platform.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q: every input is a flag", fs.Arg(0))}
	}
	var err error
	if c.targets, err = platforms.ParseList(platformList); err != nil {
		return nil, usageError{fmt.Errorf("--platform: %w", err)}
	}
	for _, o := range outputs {
		out, err := solver.ParseOutput(o)
		if err != nil {
			return nil, usageError{fmt.Errorf("--output: %w", err)}
		}
		c.outputs = append(c.outputs, out)
	}
	switch solver.EmulationPolicy(c.emulation) {
	case solver.EmulationAllow, solver.EmulationWarn, solver.EmulationForbid:
	default:
		return nil, usageError{fmt.Errorf("--emulation %q: want allow, warn or forbid", c.emulation)}
	}
	for _, s := range cacheFrom {
		cc, err := solver.ParseCache(s, false)
		if err != nil {
			return nil, usageError{fmt.Errorf("--cache-from: %w", err)}
		}
		c.cacheFrom = append(c.cacheFrom, cc)
	}
	for _, s := range cacheTo {
		cc, err := solver.ParseCache(s, true)
		if err != nil {
			return nil, usageError{fmt.Errorf("--cache-to: %w", err)}
		}
		c.cacheTo = append(c.cacheTo, cc)
	}
	for _, a := range attests {
		m, err := keyValues("--attest", strings.Split(a, ","))
		if err != nil {
			return nil, usageError{err}
		}
		switch m["type"] {
		case "provenance":
			c.provenance = "max"
			if mode, ok := m["mode"]; ok {
				c.provenance = mode
			}
			if c.provenance != "min" && c.provenance != "max" {
				return nil, usageError{fmt.Errorf("--attest %q: mode=%q: want min or max", a, c.provenance)}
			}
		case "sbom":
			return nil, usageError{fmt.Errorf("--attest %q: SBOM needs a scanner image, which crossllb does not run yet: use type=provenance", a)}
		default:
			return nil, usageError{fmt.Errorf("--attest %q: unknown type %q (want provenance)", a, m["type"])}
		}
	}
	if c.labels, err = keyValues("--label", labels); err != nil {
		return nil, usageError{err}
	}
	c.indexAnn, c.manifestAnn = map[string]string{}, map[string]string{}
	for _, a := range annotations {
		kind, kv := "", a
		if k, rest, ok := strings.Cut(a, ":"); ok && (k == "index" || k == "manifest") {
			kind, kv = k, rest
		}
		m, err := keyValues("--annotation", []string{kv})
		if err != nil {
			return nil, usageError{err}
		}
		for k, v := range m {
			if kind != "manifest" {
				c.indexAnn[k] = v
			}
			if kind != "index" {
				c.manifestAnn[k] = v
			}
		}
	}
	if c.context == "" {
		if c.context, err = defaultContext(); err != nil {
			return nil, usageError{err}
		}
	}
	return &c, nil
}

func keyValues(flagName string, kvs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want key=value", flagName, kv)
		}
		m[k] = v
	}
	return m, nil
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
		return usageError{err}
	}
	name, err := llb.GoBinaryName(goOptions(c, modPath)...)
	if err != nil {
		return usageError{fmt.Errorf("--package: %w", err)}
	}

	absContext, err := filepath.Abs(c.context)
	if err != nil {
		return usageError{fmt.Errorf("--context: %w", err)}
	}
	contextID := "crossllb-gobuild:" + absContext

	cl, err := solver.Connect(ctx, c.addr)
	if err != nil {
		return err
	}
	defer cl.Close()

	created := time.Now().UTC()
	if c.sourceDateEpoch != "" {
		if created, err = solver.ParseSourceDateEpoch(c.sourceDateEpoch); err != nil {
			return usageError{fmt.Errorf("--source-date-epoch: %w", err)}
		}
	}
	ann := llb.OCIAnnotations{Created: &created, Title: name}.Map()
	indexAnn, manifestAnn := merge(ann, c.indexAnn), merge(ann, c.manifestAnn)

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
		spec := llb.ImageSpec{Labels: c.labels, Created: &created}
		st := llb.GoImage(src, builder, base, tc, spec, goOptions(c, modPath))
		return st.Runtime, st.Config, nil
	}

	opts := []solver.BuildOption{
		solver.WithLocal("context", c.context),
		solver.WithOutput(c.outputs...),
		solver.WithProgress(c.progress, stderr),
		solver.WithAnnotations(indexAnn, manifestAnn),
		solver.WithEmulation(solver.EmulationPolicy(c.emulation)),
	}
	if c.verify {
		opts = append(opts, solver.WithVerify(llb.GoBinaryDir+"/"+name))
	}
	if c.noCache {
		opts = append(opts, solver.WithNoCache())
	}
	if c.sourceDateEpoch != "" {
		opts = append(opts, solver.WithSourceDateEpoch(created))
	}
	if c.provenance != "" {
		opts = append(opts, solver.WithProvenance(c.provenance))
	}
	opts = append(opts, solver.WithCacheFrom(c.cacheFrom...), solver.WithCacheTo(c.cacheTo...))
	if c.metadataFile != "" {
		opts = append(opts, solver.WithMetadataFile(c.metadataFile))
	}
	res, err := cl.Build(ctx, c.targets, target, opts...)
	if err != nil {
		return err
	}
	return printResult(stdout, c, res)
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

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func printResult(w io.Writer, c *config, res *solver.Result) error {
	if len(c.outputs) == 0 {
		_, err := fmt.Fprintf(w, "built %d platforms on %s (no --output: nothing exported)\n", len(c.targets), platforms.Format(res.BuildPlatform))
		return err
	}
	for _, s := range res.Emulated {
		fmt.Fprintf(w, "emulated: %s\n", s)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "index\t%s\t%s\n", res.Index.Digest, c.outputs[0])
	for _, m := range res.Manifests {
		fmt.Fprintf(tw, "%s\t%s\n", platforms.Format(m.Platform), m.Manifest.Digest)
	}
	return tw.Flush()
}
