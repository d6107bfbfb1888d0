// Build options: what Client.Build and Fleet.Build take, checked once by newBuildOptions.

package solver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
)

type buildOptions struct {
	outputs             []Output
	locals              map[string]fsutil.FS
	progressMode        progressui.DisplayMode
	progressOut         io.Writer
	noCache             bool
	indexAnnotations    map[string]string
	manifestAnnotations map[string]string
	metadataFile        string
	session             []session.Attachable
	secrets             []Secret
	emulation           EmulationPolicy
	verify              []string
	static              bool
	epoch               *time.Time
	compression         Compression
	cacheFrom, cacheTo  []Cache
	provenance          string
	// attestationsInIndex is false with WithoutAttestationsInIndex.
	attestationsInIndex bool
	// nodeRetries is how often a fleet retries a target on another node.
	nodeRetries int
	// sbomGenerator is the SBOM scanner image (WithSBOM).
	sbomGenerator string
	// events receives the progress as Events (WithProgressEvents);
	// vertices, set for each BuildKit build, says whose vertices are whose.
	events   func(Event)
	vertices *vertexTargets
	// logger gets crossllb's own messages (WithLogger); never nil.
	logger *slog.Logger
	// part is set when this build is a part of an assembled build (see
	// assembly): internal plumbing, never set by a BuildOption.
	part *partExport
}

// partExport is how a part of an assembled build exports: registry
// outputs pushed by digest, untagged, and the OCI layout tar streamed to
// sink for the assembly to merge.
type partExport struct {
	// sink receives the part's OCI layout tar; nil when the build has no
	// local output.
	sink func() (io.WriteCloser, error)
	// fleet: the part is one node's part of a fleet build, whose plan
	// the fleet logs.
	fleet bool
}

// pushByDigest says whether registry outputs are pushed untagged.
func (o *buildOptions) pushByDigest() bool { return o.part != nil }

// partSink is the part's layout stream, or nil.
func (o *buildOptions) partSink() func() (io.WriteCloser, error) {
	if o.part == nil {
		return nil
	}
	return o.part.sink
}

// BuildOption configures Build.
type BuildOption func(*buildOptions) error

// WithOutput adds where the image index goes; several may be given (at most
// one OCI directory). Without any, Build only builds (and fills the cache).
func WithOutput(outs ...Output) BuildOption {
	return func(o *buildOptions) error {
		for _, out := range outs {
			if err := out.Validate(); err != nil {
				return err
			}
		}
		o.outputs = append(o.outputs, outs...)
		return nil
	}
}

// WithLocal makes the directory dir available to graphs as bk.Local(name).
// dir must be a directory, and not / or the home directory (they are far
// too large to send as a build context). Paths matching the patterns of
// dir's .dockerignore (Docker's semantics) and of LocalExclude are left
// out. A file left in that this process cannot read is an error, here,
// before anything is solved: BuildKit would send it empty.
func WithLocal(name, dir string, opts ...LocalOption) BuildOption {
	return func(o *buildOptions) error {
		lo := &localOptions{}
		for _, opt := range opts {
			if err := opt(lo); err != nil {
				return fmt.Errorf("local %q: %w", name, err)
			}
		}
		fs, err := localFS(name, dir, lo)
		if err != nil {
			return err
		}
		if _, dup := o.locals[name]; dup {
			return fmt.Errorf("local %q given twice", name)
		}
		o.locals[name] = fs
		return nil
	}
}

// WithProgress shows the build's progress on w in a progressui mode: auto,
// tty, plain, quiet or rawjson. The default is quiet.
func WithProgress(mode string, w io.Writer) BuildOption {
	return func(o *buildOptions) error {
		m := progressui.DisplayMode(mode)
		switch m {
		case progressui.AutoMode, progressui.TtyMode, progressui.PlainMode, progressui.QuietMode, progressui.RawJSONMode:
		default:
			return fmt.Errorf("progress mode %q: unknown (want auto, tty, plain, quiet or rawjson)", mode)
		}
		if w == nil {
			return fmt.Errorf("progress mode %q: nil writer", mode)
		}
		o.progressMode, o.progressOut = m, w
		return nil
	}
}

// WithNoCache runs every step again, ignoring the daemon's cache.
func WithNoCache() BuildOption {
	return func(o *buildOptions) error { o.noCache = true; return nil }
}

// WithAnnotations sets annotations on the image index and on every
// platform manifest (OCI keys such as org.opencontainers.image.source).
// Given more than once, the maps are merged, a later key over an earlier
// one: a recipe's defaults, then the caller's.
func WithAnnotations(index, manifest map[string]string) BuildOption {
	return func(o *buildOptions) error {
		for _, m := range []map[string]string{index, manifest} {
			for k := range m {
				if k == "" {
					return errors.New("annotation with an empty key")
				}
			}
		}
		o.indexAnnotations = mergeAnnotations(o.indexAnnotations, index)
		o.manifestAnnotations = mergeAnnotations(o.manifestAnnotations, manifest)
		return nil
	}
}

// mergeAnnotations returns a copy of base with add's keys set over it.
func mergeAnnotations(base, add map[string]string) map[string]string {
	if len(add) == 0 {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, add)
	return out
}

// WithMetadataFile writes buildx-style build metadata (index digest and
// descriptor, image name, per-platform manifest and config digests) as JSON
// to path once the build has succeeded.
func WithMetadataFile(path string) BuildOption {
	return func(o *buildOptions) error {
		if path == "" {
			return errors.New("metadata file: empty path")
		}
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			return fmt.Errorf("metadata file %s: the directory %s does not exist", path, filepath.Dir(path))
		}
		o.metadataFile = path
		return nil
	}
}

// WithEmulation sets what happens to exec steps that would run under
// emulation: EmulationAllow (the default: report them in Result.Emulated),
// EmulationWarn, or EmulationForbid.
func WithEmulation(p EmulationPolicy) BuildOption {
	return func(o *buildOptions) error {
		switch p {
		case EmulationAllow, EmulationWarn, EmulationForbid:
			o.emulation = p
			return nil
		}
		return fmt.Errorf("emulation policy %q: unknown (want allow, warn or forbid)", string(p))
	}
}

// WithVerify checks, after each target is solved and before anything is
// exported, that the files at paths (absolute, in the image) are binaries
// for that target: ELF machine, class, byte order and ARM float ABI from
// the platforms table; PE machine; Mach-O CPU. An ELF binary must also be
// able to start in its image, as read from the image itself (no container
// is run): its interpreter (PT_INTERP) exists there; every library it
// needs (DT_NEEDED), and those they need, resolves through the image's
// loader paths (/etc/ld.so.conf and its includes, the target's multiarch
// directories, /lib, /usr/lib) to a library of the target's machine; and
// the image's libc.so.6 defines every GLIBC_ version the binary needs. A
// miss fails the build naming the target, the binary and what is missing.
// What was found is in Result.Verified and the metadata's
// crossllb.verified.
//
// On a windows target, a path whose file name has no extension names the
// ".exe" (as Windows finds an executable): "/usr/local/bin/app" checks
// "/usr/local/bin/app.exe".
func WithVerify(paths ...string) BuildOption {
	return func(o *buildOptions) error {
		for _, p := range paths {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("verify %q: want an absolute path in the image", p)
			}
		}
		o.verify = append(o.verify, paths...)
		return nil
	}
}

// WithStatic makes WithVerify also require every ELF binary it checks to
// be static: no interpreter and no DT_NEEDED (what xx-verify --static
// checks). Use it for a scratch or distroless-static runtime image, where
// nothing could load a dynamic binary's libraries.
func WithStatic() BuildOption {
	return func(o *buildOptions) error { o.static = true; return nil }
}

// WithSession attaches more session services (SSH agents...; for secrets,
// WithSecrets).
func WithSession(a ...session.Attachable) BuildOption {
	return func(o *buildOptions) error { o.session = append(o.session, a...); return nil }
}

// WithoutAttestationsInIndex keeps attestation manifests (provenance) out
// of the image index, for clients that choke on its unknown/unknown
// entries. They are still built and exported as blobs (the registry or the
// layout holds them, unreferenced by the index); Result.Manifests still
// names them.
func WithoutAttestationsInIndex() BuildOption {
	return func(o *buildOptions) error { o.attestationsInIndex = false; return nil }
}

func newBuildOptions(opts []BuildOption) (*buildOptions, error) {
	o := &buildOptions{locals: map[string]fsutil.FS{}, progressMode: progressui.QuietMode, progressOut: io.Discard,
		emulation: EmulationAllow, attestationsInIndex: true, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	dirs, stdout := 0, 0
	for _, out := range o.outputs {
		if out.Kind == KindOCIDir {
			dirs++
		}
		if out.ToStdout() {
			stdout++
		}
	}
	if stdout > 1 {
		return nil, errors.New("build: at most one output to standard output (dest=-)")
	}
	if dirs > 1 {
		return nil, errors.New("build: at most one OCI directory output per build (BuildKit exports one OCI store per session)")
	}
	if err := metadataApart(o.metadataFile, o.outputs); err != nil {
		return nil, err
	}
	return o, nil
}

// metadataApart refuses a metadata file that an OCI output would
// overwrite (the same file as a tar) or replace (inside a layout
// directory): the JSON and the image cannot share a path.
func metadataApart(meta string, outs []Output) error {
	if meta == "" {
		return nil
	}
	m, err := filepath.Abs(meta)
	if err != nil {
		return fmt.Errorf("metadata file %s: %w", meta, err)
	}
	for _, out := range outs {
		if out.Kind != KindOCITar && out.Kind != KindOCIDir {
			continue
		}
		d, err := filepath.Abs(out.Dest)
		if err != nil {
			return fmt.Errorf("output %s: %w", out, err)
		}
		if m == d || (out.Kind == KindOCIDir && strings.HasPrefix(m, d+string(filepath.Separator))) {
			return fmt.Errorf("metadata file %s: output %s writes there too: give the metadata file another path", meta, out)
		}
	}
	return nil
}
