// Package buildflags holds the flags every crossllb example shares, in
// buildx's conventions (--platform, --output, --progress, --metadata-file,
// --cache-from/--cache-to, --attest...), and turns them into solver options.
// Copy it along with an example.
package buildflags

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/containerd/log"
	"io"
	"maps"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/internal/keyvalue"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// UsageError is a bad flag: exit code 2, as flag.ExitOnError would.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// Main runs run with a context cancelled by SIGINT/SIGTERM and exits like a
// command-line tool: 0, 1 on failure, 2 on a usage error.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	// containerd's content store (BuildKit's client writes OCI directories
	// through it) logs a warning on every filesystem without fsverity:
	// noise, even with --progress quiet. Errors still show.
	_ = log.SetLevel("error")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	stop()
	var usage UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case interrupted:
		// 128 + SIGINT, as a shell reports a command it interrupted.
		fmt.Fprintf(os.Stderr, "%s: interrupted: %v\n", name, err)
		os.Exit(130)
	case errors.As(err, &usage):
		fmt.Fprintf(os.Stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Multi collects a repeatable flag.
type Multi []string

func (m *Multi) String() string     { return strings.Join(*m, ",") }
func (m *Multi) Set(v string) error { *m = append(*m, v); return nil }

// optionalBool is a boolean flag that tells "not given" (nil) from false:
// "--static", "--static=true" and "--static=false".
type optionalBool struct{ p **bool }

func (b optionalBool) IsBoolFlag() bool { return true }

func (b optionalBool) String() string {
	if b.p == nil || *b.p == nil {
		return ""
	}
	return strconv.FormatBool(**b.p)
}

func (b optionalBool) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	*b.p = &x
	return nil
}

// Common are the shared flags, parsed.
type Common struct {
	// Addr is --addr: one buildkitd address ("" for the default).
	Addr string
	// Addrs are every --addr given; more than one only when Fleet is set
	// before Parse.
	Addrs []string
	// Fleet lets --addr repeat, one per node (examples/multinode).
	Fleet bool
	// TLS files for tcp:// addresses (buildctl's --tlscacert etc.).
	TLSCACert, TLSCert, TLSKey, TLSServerName string
	// AttestationsInIndex is false with --attestations-in-index=false.
	AttestationsInIndex bool
	Targets             []ocispec.Platform
	Outputs             []solver.Output
	MetadataFile        string
	Progress            string
	NoCache, Verify     bool
	Emulation           solver.EmulationPolicy
	Labels              map[string]string
	IndexAnnotations    map[string]string
	ManifestAnnotations map[string]string
	CacheFrom, CacheTo  []solver.Cache
	Provenance          string
	// SBOMGenerator is the scanner image of --attest type=sbom.
	SBOMGenerator string
	// Epoch is --source-date-epoch (default $SOURCE_DATE_EPOCH), if set.
	Epoch *time.Time
	// Secrets are the --secret flags, for examples that AcceptSecrets.
	Secrets []solver.Secret
	// Excludes are the --exclude patterns, left out of the context after
	// its .dockerignore and the example's defaults.
	Excludes Multi
	// Static is --static: nil when not given (the recipe's default: true
	// on scratch).
	Static *bool
	// Compression is --compression (zero: gzip at solver.DefaultGzipLevel).
	Compression solver.Compression

	platformList, emulation, epoch, compression                          string
	addrs, outputs, labels, annotations, cacheFrom, cacheTo, at, secrets Multi
}

// Register adds the shared flags to fs.
func Register(fs *flag.FlagSet, defaultPlatforms string) *Common {
	c := &Common{}
	fs.Var(&c.addrs, "addr", "buildkitd address: unix://, tcp://, docker-container://, kube-pod:// (default: $BUILDKIT_HOST, the default socket, or a private buildkitd); repeat it for a fleet where the example supports one")
	fs.StringVar(&c.TLSCACert, "tlscacert", "", "CA certificate for tcp:// addresses")
	fs.StringVar(&c.TLSCert, "tlscert", "", "client certificate for tcp:// addresses")
	fs.StringVar(&c.TLSKey, "tlskey", "", "client key for tcp:// addresses")
	fs.StringVar(&c.TLSServerName, "tlsservername", "", "server name to check in tcp:// daemons' certificates (default: the host)")
	fs.BoolVar(&c.AttestationsInIndex, "attestations-in-index", true, "list attestation manifests (--attest) in the image index; false keeps them out for clients that choke on unknown/unknown entries")
	fs.StringVar(&c.platformList, "platform", defaultPlatforms, "target platforms, comma-separated")
	fs.Var(&c.outputs, "output", "where the index goes, repeatable: type=oci,dest=PATH|-[,tar=false][,name=REF] or type=image,name=REF,push=true[,registry.insecure=true]")
	fs.Var(&c.Excludes, "exclude", "a pattern of paths left out of the context (.dockerignore syntax, e.g. **/*.log), repeatable; the context's .dockerignore is honoured too")
	fs.StringVar(&c.MetadataFile, "metadata-file", "", "write build metadata (digests) as JSON to this file")
	fs.StringVar(&c.Progress, "progress", "auto", "progress output: auto, tty, plain, quiet or rawjson")
	fs.BoolVar(&c.NoCache, "no-cache", false, "do not use the build cache")
	fs.BoolVar(&c.Verify, "verify", true, "check each image's binary before export: its header against its platform, and that it can start in the image (interpreter, libraries, glibc versions)")
	fs.Var(optionalBool{&c.Static}, "static", "with --verify, require static binaries (no interpreter, no shared libraries) (default: true when the runtime image is scratch)")
	fs.StringVar(&c.emulation, "emulation", "allow", "steps that would run under emulation: allow (report), warn or forbid")
	fs.StringVar(&c.compression, "compression", "", "layer compression: gzip, zstd or uncompressed, or type=T[,level=N][,force=true] (default: gzip at level 1, as go-containerregistry and ko compress)")
	fs.StringVar(&c.epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "seconds since 1970 for every timestamp, for reproducible digests (default $SOURCE_DATE_EPOCH)")
	fs.Var(&c.cacheFrom, "cache-from", "import build cache, repeatable: type=registry,ref=REF or type=local,src=DIR")
	fs.Var(&c.cacheTo, "cache-to", "export build cache, repeatable: type=registry,ref=REF[,mode=max] or type=local,dest=DIR[,mode=max]")
	fs.Var(&c.at, "attest", "attestation, repeatable: type=provenance[,mode=min|max] or type=sbom[,generator=IMAGE] (default generator: "+solver.DefaultSBOMGenerator+")")
	fs.Var(&c.labels, "label", "image label key=value, repeatable")
	fs.Var(&c.annotations, "annotation", "annotation [index:|manifest:]key=value, repeatable (no prefix: both)")
	return c
}

// ParseArgs parses args into fs (which holds the shared flags and the
// example's own), then checks the shared flags with Parse: --help comes
// back as flag.ErrHelp, anything wrong as a UsageError naming the flag.
func (c *Common) ParseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected argument %q: every input is a flag", fs.Arg(0))
	}
	return c.Parse()
}

// Parse checks the shared flags' values once fs.Parse has run. Its errors
// are UsageErrors naming the flag.
func (c *Common) Parse() error {
	var err error
	c.Addrs = c.addrs
	switch {
	case len(c.Addrs) == 1:
		c.Addr = c.Addrs[0]
	case len(c.Addrs) > 1 && !c.Fleet:
		return Usagef("--addr given %d times: this example builds on one buildkitd (examples/multinode builds on several)", len(c.Addrs))
	}
	for i, a := range c.Addrs {
		if strings.TrimSpace(a) == "" {
			return Usagef("--addr %d is empty", i+1)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return Usagef("--tlscert and --tlskey go together: give both or neither")
	}
	if c.Targets, err = platforms.ParseList(c.platformList); err != nil {
		return Usagef("--platform: %w", err)
	}
	for _, o := range c.outputs {
		out, err := solver.ParseOutput(o)
		if err != nil {
			return Usagef("--output: %w", err)
		}
		c.Outputs = append(c.Outputs, out)
	}
	switch c.Emulation = solver.EmulationPolicy(c.emulation); c.Emulation {
	case solver.EmulationAllow, solver.EmulationWarn, solver.EmulationForbid:
	default:
		return Usagef("--emulation %q: want allow, warn or forbid", c.emulation)
	}
	if c.compression != "" {
		if c.Compression, err = solver.ParseCompression(c.compression); err != nil {
			return Usagef("--compression: %w", err)
		}
	}
	if c.epoch != "" {
		t, err := solver.ParseSourceDateEpoch(c.epoch)
		if err != nil {
			return Usagef("--source-date-epoch: %w", err)
		}
		c.Epoch = &t
	}
	for _, s := range c.cacheFrom {
		cc, err := solver.ParseCache(s, false)
		if err != nil {
			return Usagef("--cache-from: %w", err)
		}
		c.CacheFrom = append(c.CacheFrom, cc)
	}
	for _, s := range c.cacheTo {
		cc, err := solver.ParseCache(s, true)
		if err != nil {
			return Usagef("--cache-to: %w", err)
		}
		c.CacheTo = append(c.CacheTo, cc)
	}
	for _, a := range c.at {
		fields, err := keyvalue.Pairs(a)
		if err != nil {
			return Usagef("--attest %q: %w", a, err)
		}
		m := map[string]string{}
		for _, f := range fields {
			m[f.Key] = f.Value
		}
		switch m["type"] {
		case "provenance":
			c.Provenance = "max"
			if mode, ok := m["mode"]; ok {
				c.Provenance = mode
			}
			if c.Provenance != "min" && c.Provenance != "max" {
				return Usagef("--attest %q: mode=%q: want min or max", a, c.Provenance)
			}
		case "sbom":
			c.SBOMGenerator = solver.DefaultSBOMGenerator
			if g, ok := m["generator"]; ok {
				if g == "" {
					return Usagef("--attest %q: empty generator: give an SBOM scanner image", a)
				}
				c.SBOMGenerator = g
			}
		default:
			return Usagef("--attest %q: unknown type %q (want provenance or sbom)", a, m["type"])
		}
	}
	if err := c.parseSecrets(); err != nil {
		return err
	}
	if c.Labels, err = KeyValues("--label", c.labels); err != nil {
		return UsageError{err}
	}
	c.IndexAnnotations, c.ManifestAnnotations = map[string]string{}, map[string]string{}
	for _, a := range c.annotations {
		kind, kv := "", a
		if k, rest, ok := strings.Cut(a, ":"); ok && (k == "index" || k == "manifest") {
			kind, kv = k, rest
		}
		m, err := KeyValues("--annotation", []string{kv})
		if err != nil {
			return UsageError{err}
		}
		for k, v := range m {
			if kind != "manifest" {
				c.IndexAnnotations[k] = v
			}
			if kind != "index" {
				c.ManifestAnnotations[k] = v
			}
		}
	}
	return nil
}

// ConnectOptions are the connection flags as solver options.
func (c *Common) ConnectOptions() []solver.ConnectOption {
	if c.TLSCACert == "" && c.TLSCert == "" && c.TLSServerName == "" {
		return nil
	}
	return []solver.ConnectOption{solver.WithTLS(c.TLSCACert, c.TLSCert, c.TLSKey, c.TLSServerName)}
}

// Created is the images' creation time: the source date epoch, else nil,
// which leaves it to BuildKit (the time the newest layer was first built:
// a rebuild of unchanged sources keeps its digests).
func (c *Common) Created() *time.Time {
	if c.Epoch == nil {
		return nil
	}
	t := c.Epoch.UTC()
	return &t
}

// Options turns the shared flags into solver options: outputs, progress,
// --annotation (on top of a recipe's own), emulation, cache, metadata and
// the rest. --verify, --static, --label and --exclude go to the recipe
// (the examples' Recipe functions read them from Common).
func (c *Common) Options(stderr io.Writer) []solver.BuildOption {
	index, manifest := maps.Clone(c.IndexAnnotations), maps.Clone(c.ManifestAnnotations)
	opts := []solver.BuildOption{
		solver.WithOutput(c.Outputs...),
		solver.WithProgress(c.Progress, stderr),
		solver.WithAnnotations(index, manifest),
		solver.WithEmulation(c.Emulation),
		solver.WithCacheFrom(c.CacheFrom...),
		solver.WithCacheTo(c.CacheTo...),
		solver.WithCompression(c.Compression),
	}
	if c.NoCache {
		opts = append(opts, solver.WithNoCache())
	}
	if c.MetadataFile != "" {
		opts = append(opts, solver.WithMetadataFile(c.MetadataFile))
	}
	if c.Epoch != nil {
		opts = append(opts, solver.WithSourceDateEpoch(*c.Epoch))
	}
	if c.Provenance != "" {
		opts = append(opts, solver.WithProvenance(c.Provenance))
	}
	if c.SBOMGenerator != "" {
		opts = append(opts, solver.WithSBOM(c.SBOMGenerator))
	}
	if !c.AttestationsInIndex {
		opts = append(opts, solver.WithoutAttestationsInIndex())
	}
	if len(c.Secrets) > 0 {
		opts = append(opts, solver.WithSecrets(c.Secrets...))
	}
	return opts
}

// SummaryOut is where PrintResult's lines go: stdout, unless an output
// streams the image there (type=oci,dest=-), then stderr, as buildx does.
func (c *Common) SummaryOut(stdout, stderr io.Writer) io.Writer {
	for _, o := range c.Outputs {
		if o.ToStdout() {
			return stderr
		}
	}
	return stdout
}

// PrintResult prints the index: one line for it, one per platform with its
// manifest digest, and any step that ran under emulation.
func (c *Common) PrintResult(w io.Writer, res *solver.Result) error {
	for _, s := range res.Emulated {
		fmt.Fprintf(w, "emulated: %s\n", s)
	}
	if len(c.Outputs) == 0 {
		_, err := fmt.Fprintf(w, "built %d platforms on %s (no --output: nothing exported)\n", len(c.Targets), platforms.Format(res.BuildPlatform))
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "index\t%s\t%s\n", res.Index.Digest, c.Outputs[0])
	for _, m := range res.Manifests {
		fmt.Fprintf(tw, "%s\t%s\n", platforms.Format(m.Platform), m.Manifest.Digest)
	}
	return tw.Flush()
}

// KeyValues parses key=value arguments of flagName, one pair each, not
// comma-separated: a --label value may hold commas.
func KeyValues(flagName string, kvs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range kvs {
		p, err := keyvalue.Cut(kv)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want key=value", flagName, kv)
		}
		m[p.Key] = p.Value
	}
	return m, nil
}
