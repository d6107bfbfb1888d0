package solver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/internal/keyvalue"
	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// OutputKind says where an image index goes.
type OutputKind string

const (
	// KindOCITar is an OCI image layout in a tar file.
	KindOCITar OutputKind = "oci-tar"
	// KindOCIDir is an OCI image layout directory.
	KindOCIDir OutputKind = "oci-dir"
	// KindRegistry is a push to a registry.
	KindRegistry OutputKind = "registry"
)

// Output is one destination of a build's image index. Make one with
// OCITar, OCIDir, Registry or ParseOutput; the zero value is invalid.
type Output struct {
	Kind OutputKind
	// Dest is the file (KindOCITar) or directory (KindOCIDir) to write.
	Dest string
	// Name is the image reference to push (KindRegistry), with a tag.
	// For an OCI layout it is optional: the name recorded in index.json
	// (org.opencontainers.image.ref.name, the tag, and containerd's
	// io.containerd.image.name, the full name), by which importers such
	// as `ctr images import` and skopeo's oci-archive:PATH:TAG find it.
	Name string
	// Insecure allows plain HTTP and unverified TLS for the registry
	// (for loopback registries such as the one hack/setup starts).
	Insecure bool
}

// StdoutDest as an OCI tar's Dest ("type=oci,dest=-") streams the tar to
// standard output, as buildx does.
const StdoutDest = "-"

// ToStdout reports whether o streams an OCI tar to standard output.
func (o Output) ToStdout() bool { return o.Kind == KindOCITar && o.Dest == StdoutDest }

// OCITar writes the image index as an OCI layout tar file at path. The file
// appears only when the build succeeds (it is written to a temporary file
// beside it and renamed). StdoutDest streams it to standard output.
func OCITar(path string) Output { return Output{Kind: KindOCITar, Dest: path} }

// OCIDir writes the image index as an OCI layout directory at path. The
// directory appears only when the build succeeds. An existing layout keeps
// its other images: the new one replaces only the image of the same name
// (see Output.Name; an unnamed image replaces the unnamed one).
func OCIDir(path string) Output { return Output{Kind: KindOCIDir, Dest: path} }

// RegistryOption configures a Registry output.
type RegistryOption func(*Output)

// Insecure allows plain HTTP (and unverified TLS) for this registry.
func Insecure() RegistryOption { return func(o *Output) { o.Insecure = true } }

// Registry pushes the image index to name, a reference with a tag, such as
// "127.0.0.1:5000/hello:v1". A name without a tag is refused (by
// WithOutput and Validate) rather than pushed as :latest: say
// "hello:latest" to mean it. (ParseOutput, reading buildx's flag syntax,
// keeps buildx's default and adds the :latest itself.) Credentials come
// from the Docker config file (~/.docker/config.json, or $DOCKER_CONFIG)
// through BuildKit's auth provider.
func Registry(name string, opts ...RegistryOption) Output {
	o := Output{Kind: KindRegistry, Name: name}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// String renders o in buildx's --output syntax.
func (o Output) String() string {
	name := ""
	if o.Name != "" {
		name = "," + keyvalue.Field("name", o.Name)
	}
	dest := keyvalue.Field("dest", o.Dest)
	switch o.Kind {
	case KindOCITar:
		return "type=oci," + dest + name
	case KindOCIDir:
		return "type=oci," + dest + ",tar=false" + name
	case KindRegistry:
		s := "type=image," + keyvalue.Field("name", o.Name) + ",push=true"
		if o.Insecure {
			s += ",registry.insecure=true"
		}
		return s
	}
	return fmt.Sprintf("invalid output %q", string(o.Kind))
}

// Validate checks o before anything is built: a known kind, a destination
// whose parent directory exists, a valid image reference.
func (o Output) Validate() error {
	switch o.Kind {
	case KindOCITar, KindOCIDir:
		if o.Name != "" {
			if err := checkName(o); err != nil {
				return err
			}
		}
		if o.Dest == StdoutDest {
			if o.Kind == KindOCIDir {
				return fmt.Errorf("output %s: a directory cannot go to standard output: drop tar=false, or give a directory", o)
			}
			return nil
		}
		if o.Dest == "" {
			return fmt.Errorf("output %s: missing dest: say where to write it, e.g. dest=image.tar", o)
		}
		parent := filepath.Dir(o.Dest)
		st, err := os.Stat(parent)
		if err != nil {
			return fmt.Errorf("output %s: the directory %s does not exist: create it first", o, parent)
		}
		if !st.IsDir() {
			return fmt.Errorf("output %s: %s is not a directory", o, parent)
		}
		if o.Kind == KindOCITar {
			if st, err := os.Stat(o.Dest); err == nil && st.IsDir() {
				return fmt.Errorf("output %s: %s is a directory: add tar=false to write an OCI layout directory", o, o.Dest)
			}
		}
		if o.Kind == KindOCIDir {
			return replaceableLayout(o)
		}
		return nil
	case KindRegistry:
		if o.Name == "" {
			return fmt.Errorf("output %s: missing name: say which image to push, e.g. name=registry.example.com/app:v1", o)
		}
		if err := checkName(o); err != nil {
			return err
		}
		if !hasTag(o.Name) {
			return fmt.Errorf("output %s: name %q has no tag: add one, e.g. %s:v1 (a push is not tagged latest by default)", o, o.Name, o.Name)
		}
		return nil
	case "":
		return fmt.Errorf("output: no type: use solver.OCITar, solver.OCIDir or solver.Registry")
	}
	return fmt.Errorf("output: unknown kind %q (want %s, %s or %s)", string(o.Kind), KindOCITar, KindOCIDir, KindRegistry)
}

// checkName checks o.Name: an image reference with a tag or none (the
// tag defaults to latest), not a digest, which is known only after the
// build.
func checkName(o Output) error {
	named, err := reference.ParseNormalizedNamed(o.Name)
	if err != nil {
		return fmt.Errorf("output %s: invalid image name %q: %w", o, o.Name, err)
	}
	if _, ok := named.(reference.Digested); ok {
		return fmt.Errorf("output %s: name %q has a digest: a push names a tag (the digest is known only after the build; it is in the result and the metadata file): drop the @sha256:... part", o, o.Name)
	}
	return nil
}

// hasTag reports whether name, a valid reference, has a tag.
func hasTag(name string) bool {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return false
	}
	_, ok := named.(reference.Tagged)
	return ok
}

// withDefaultTag is name with ":latest" added when it is a valid
// reference with neither tag nor digest: buildx pushes name=REPO as
// REPO:latest, and so does ParseOutput, with the tag written out. Any
// other name is returned as it is (Validate says what is wrong with it).
func withDefaultTag(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	if _, ok := named.(reference.Tagged); ok {
		return name
	}
	if _, ok := named.(reference.Digested); ok {
		return name
	}
	return name + ":latest"
}

// layoutNames are the index.json annotations that name an OCI layout's
// image, as containerd's archive exporter (and so BuildKit's oci
// exporter) writes them: the full name and the tag. nil without a name.
func layoutNames(name string) map[string]string {
	named, err := reference.ParseNormalizedNamed(name)
	if name == "" || err != nil {
		return nil
	}
	tagged := reference.TagNameOnly(named)
	return map[string]string{
		"io.containerd.image.name":          tagged.String(),
		"org.opencontainers.image.ref.name": tagged.(reference.Tagged).Tag(),
	}
}

// ParseOutput parses buildx's --output syntax, comma-separated key=value
// pairs, CSV-quoted as buildx and buildctl read them (a value with a comma
// is quoted whole: type=oci,"dest=/tmp/a,b.tar"):
//
//	type=oci,dest=app.tar               an OCI layout tar file
//	type=oci,dest=app,tar=false         an OCI layout directory
//	  [,name=REF]                       the image's name in index.json
//	type=image,name=REF,push=true       a registry push (also type=registry,name=REF);
//	                                    REF without a tag is REF:latest, as in buildx
//	  [,registry.insecure=true]         plain HTTP / unverified TLS
//
// Keys it does not know are an error, not silently ignored.
func ParseOutput(s string) (Output, error) {
	if strings.TrimSpace(s) == "" {
		return Output{}, fmt.Errorf("output %q: empty: use type=oci,dest=PATH or type=image,name=REF,push=true", s)
	}
	kv, err := keyvalue.Map(s)
	if err != nil {
		return Output{}, fmt.Errorf("output %q: %w", s, err)
	}
	boolKey := func(k string, def bool) (bool, error) {
		v, ok := kv[k]
		delete(kv, k)
		if !ok {
			return def, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("output %q: %s=%q is not true or false", s, k, v)
		}
		return b, nil
	}
	typ := kv["type"]
	delete(kv, "type")
	var o Output
	switch typ {
	case "oci":
		o.Dest = kv["dest"]
		delete(kv, "dest")
		o.Name = kv["name"]
		delete(kv, "name")
		tar, err := boolKey("tar", true)
		if err != nil {
			return Output{}, err
		}
		o.Kind = KindOCIDir
		if tar {
			o.Kind = KindOCITar
		}
	case "image", "registry":
		o.Kind = KindRegistry
		o.Name = kv["name"]
		delete(kv, "name")
		push, err := boolKey("push", typ == "registry")
		if err != nil {
			return Output{}, err
		}
		if !push {
			return Output{}, fmt.Errorf("output %q: type=image without push=true has nowhere to go (there is no image store here): add push=true, or use type=oci", s)
		}
		if o.Insecure, err = boolKey("registry.insecure", false); err != nil {
			return Output{}, err
		}
		o.Name = withDefaultTag(o.Name)
	case "":
		return Output{}, fmt.Errorf("output %q: missing type: use type=oci or type=image", s)
	default:
		return Output{}, fmt.Errorf("output %q: unknown type %q (supported: oci, image, registry)", s, typ)
	}
	for k := range kv {
		return Output{}, fmt.Errorf("output %q: unknown key %q for type=%s", s, k, typ)
	}
	if err := o.Validate(); err != nil {
		return Output{}, err
	}
	return o, nil
}

// replaceableLayout refuses to let an OCI directory output replace anything
// but nothing, an empty directory or an OCI layout: the destination is
// replaced whole.
func replaceableLayout(o Output) error {
	st, err := os.Stat(o.Dest)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", o, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("output %s: %s is a file: remove it, or drop tar=false to write a tar file", o, o.Dest)
	}
	if _, err := os.Stat(filepath.Join(o.Dest, "oci-layout")); err == nil {
		return nil
	}
	entries, err := os.ReadDir(o.Dest)
	if err != nil {
		return fmt.Errorf("output %s: %w", o, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("output %s: %s is a directory that is not an OCI layout and not empty: it would be replaced whole; pick a new directory", o, o.Dest)
	}
	return nil
}

// Staging: an output is written to a temporary destination beside its
// own, and moved into place (commit) only once the build has succeeded.

// staged is an output being written: BuildKit writes to tmp, and commit
// moves it to its destination only once the whole build has succeeded.
type staged struct {
	out   Output
	entry client.ExportEntry
	tmp   string
	files []*os.File // tar outputs opened by BuildKit's callback
	tar   io.Writer  // where a tar output goes: files[0], or standard output
}

// stdoutTar is standard output as a tar destination: closing it leaves
// standard output open.
type stdoutTar struct{ io.Writer }

func (stdoutTar) Close() error { return nil }

// stage prepares the export entry for o, with temporary destinations.
func stage(o Output, es exportSettings, byDigest bool) (*staged, error) {
	s := &staged{out: o}
	attrs := es.attrs()
	if o.Name != "" {
		attrs[string(exptypes.OptKeyName)] = o.Name
	}
	switch o.Kind {
	case KindOCITar:
		attrs["tar"] = "true"
		if o.ToStdout() {
			// Streamed as it is written, and teed to a temporary file
			// that the result is read back from (readBack), then removed.
			f, err := os.CreateTemp("", "crossllb-stdout-*.tar")
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", o, err)
			}
			s.tmp = f.Name()
			s.files = append(s.files, f)
			s.tar = io.MultiWriter(os.Stdout, f)
			s.entry = client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs,
				Output: func(map[string]string) (io.WriteCloser, error) { return stdoutTar{s.tar}, nil }}
			break
		}
		dir, base := filepath.Dir(o.Dest), filepath.Base(o.Dest)
		f, err := os.CreateTemp(dir, "."+base+".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o, err)
		}
		s.tmp = f.Name()
		s.files = append(s.files, f)
		s.tar = f
		s.entry = client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs,
			Output: func(map[string]string) (io.WriteCloser, error) { return f, nil }}
	case KindOCIDir:
		attrs["tar"] = "false"
		dir, base := filepath.Dir(o.Dest), filepath.Base(o.Dest)
		tmp, err := os.MkdirTemp(dir, "."+base+".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o, err)
		}
		s.tmp = tmp
		s.entry = client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs, OutputDir: tmp}
	case KindRegistry:
		attrs[string(exptypes.OptKeyPush)] = "true"
		if byDigest {
			// Untagged: a fleet tags the index it assembles, last.
			attrs[string(exptypes.OptKeyPushByDigest)] = "true"
		}
		attrs[string(exptypes.OptKeyOCITypes)] = "true"
		if o.Insecure {
			attrs[string(exptypes.OptKeyInsecure)] = "true"
		}
		s.entry = client.ExportEntry{Type: client.ExporterImage, Attrs: attrs}
	default:
		// WithOutput validated it: an unknown kind cannot get here.
		return nil, fmt.Errorf("output %s: unknown kind %q", o, o.Kind)
	}
	return s, nil
}

// commit moves a finished output into place.
func (s *staged) commit() error {
	for _, f := range s.files {
		_ = f.Close() // BuildKit closes it; a second close is harmless
	}
	switch s.out.Kind {
	case KindOCITar:
		if s.out.ToStdout() {
			return nil // written already; the tee is removed by release
		}
		if err := os.Chmod(s.tmp, 0o644); err != nil {
			return fmt.Errorf("output %s: %w", s.out, err)
		}
		if err := os.Rename(s.tmp, s.out.Dest); err != nil {
			return fmt.Errorf("output %s: %w", s.out, err)
		}
	case KindOCIDir:
		if s.out.Name == "" {
			if err := ocilayout.Unname(s.tmp); err != nil {
				return fmt.Errorf("output %s: %w", s.out, err)
			}
		}
		// Checked again here: the destination may have changed during the build.
		if err := replaceableLayout(s.out); err != nil {
			return err
		}
		if err := ocilayout.KeepOtherImages(s.out.Dest, s.tmp); err != nil {
			return fmt.Errorf("output %s: %w", s.out, err)
		}
		var old string
		if _, err := os.Lstat(s.out.Dest); err == nil {
			old = filepath.Join(filepath.Dir(s.out.Dest), "."+filepath.Base(s.out.Dest)+".old-"+filepath.Base(s.tmp))
			if err := os.Rename(s.out.Dest, old); err != nil {
				return fmt.Errorf("output %s: moving the old %s aside: %w", s.out, s.out.Dest, err)
			}
		}
		if err := os.Rename(s.tmp, s.out.Dest); err != nil {
			if old != "" {
				err = errors.Join(err, os.Rename(old, s.out.Dest))
			}
			return fmt.Errorf("output %s: %w", s.out, err)
		}
		if old != "" {
			if err := os.RemoveAll(old); err != nil {
				return fmt.Errorf("output %s: removing the old layout %s: %w", s.out, old, err)
			}
		}
	}
	return nil
}

// readBack is the output the result's manifests are read back from: the
// output itself, or for standard output the tee of what was written.
func (s *staged) readBack() Output {
	if s.out.ToStdout() {
		return OCITar(s.tmp)
	}
	return s.out
}

// release removes what a committed output still keeps: the tee of a tar
// streamed to standard output.
func (s *staged) release() {
	if s.out.ToStdout() {
		_ = os.Remove(s.tmp)
	}
}

// abort removes whatever a failed build left in the temporary destination.
func (s *staged) abort() {
	for _, f := range s.files {
		_ = f.Close()
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// Reading back: the manifests of the index an output holds.

// readManifests reads the index BuildKit wrote to out back, so that callers
// get each platform's manifest and config descriptors.
func readManifests(ctx context.Context, out Output, index ocispec.Descriptor, targets []target) ([]PlatformManifest, error) {
	if index.Digest == "" {
		return nil, errors.New("the exporter returned no index descriptor")
	}
	var fetch ocilayout.Fetcher
	switch out.Kind {
	case KindOCIDir:
		fetch = ocilayout.DirFetcher(out.Dest)
	case KindOCITar:
		var err error
		if fetch, err = ocilayout.TarFetcher(out.Dest, 4<<20); err != nil {
			return nil, err
		}
	case KindRegistry:
		var err error
		if fetch, err = registryFetcher(out); err != nil {
			return nil, err
		}
	default:
		return nil, out.Validate()
	}
	return manifestsFromIndex(ctx, fetch, index, targets)
}

func nameOpts(out Output) []name.Option {
	if out.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}
