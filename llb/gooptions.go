package llb

import (
	"fmt"
	"path"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
)

// GoOption configures [GoCompile]. Options are checked when applied: an
// invalid one makes the compile state fail at Marshal with an error naming
// the option and its value.
type GoOption func(*goOptions) error

type goOptions struct {
	pkg       string
	name      string
	ldflags   string
	tags      []string
	cgo       bool
	env       []string
	namespace string
	vendor    bool
	netrc     string // secret ID (WithNetrcSecret)
}

func newGoOptions(opts []GoOption) (*goOptions, error) {
	o := &goOptions{pkg: ".", namespace: "default"}
	if err := applyOptions(o, opts); err != nil {
		return nil, err
	}
	if o.name == "" {
		o.name = defaultBinaryName(o.pkg)
	}
	return o, nil
}

func defaultBinaryName(pkg string) string {
	if pkg == "." {
		return "app"
	}
	return path.Base(pkg)
}

// WithPackage sets the main package to build, relative to the module root
// ("./cmd/app"). Default ".".
func WithPackage(pkg string) GoOption {
	return func(o *goOptions) error {
		clean := path.Clean(pkg)
		switch {
		case pkg == "" || strings.ContainsAny(pkg, "\x00\n\\"):
			return fmt.Errorf("WithPackage(%q): want a relative package path like \"./cmd/app\"", pkg)
		case clean == ".." || strings.HasPrefix(clean, "../"):
			return fmt.Errorf("WithPackage(%q): the package is outside the module", pkg)
		case pkg != "." && !strings.HasPrefix(pkg, "./"):
			return fmt.Errorf("WithPackage(%q): want a relative package path starting with \"./\", like \"./cmd/app\"", pkg)
		case strings.Contains(clean, "..."):
			return fmt.Errorf("WithPackage(%q): want one main package, not a pattern", pkg)
		}
		if clean != "." {
			clean = "./" + clean
		}
		o.pkg = clean
		return nil
	}
}

// WithOutputName sets the binary's file name. Default: the last element of
// the package path, or "app" for ".".
func WithOutputName(name string) GoOption {
	return func(o *goOptions) error {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00\n") {
			return fmt.Errorf("WithOutputName(%q): want a plain file name like \"app\"", name)
		}
		o.name = name
		return nil
	}
}

// WithLDFlags sets go build's -ldflags, e.g. "-s -w -X main.version=1.2.3".
func WithLDFlags(flags string) GoOption {
	return func(o *goOptions) error {
		if strings.ContainsAny(flags, "\x00\n") {
			return fmt.Errorf("WithLDFlags(%q): flags contain a newline or NUL", flags)
		}
		o.ldflags = flags
		return nil
	}
}

// WithTags adds build tags (go build -tags). It may be given more than once.
func WithTags(tags ...string) GoOption {
	return func(o *goOptions) error {
		for _, t := range tags {
			if t == "" || !onlyChars(t, "_.") {
				return fmt.Errorf("WithTags(%q): invalid build tag %q: want letters, digits, '_' and '.'", tags, t)
			}
		}
		o.tags = append(o.tags, tags...)
		return nil
	}
}

// WithCGO sets CGO_ENABLED. Default false: a static binary that runs on any
// base, scratch included. With cgo on and a target other than the build
// platform, CC defaults to "<GNU triple>-gcc" (e.g. aarch64-linux-gnu-gcc),
// which the builder image must provide; WithGoEnv("CC=...") overrides it.
func WithCGO(enabled bool) GoOption {
	return func(o *goOptions) error {
		o.cgo = enabled
		return nil
	}
}

// reservedGoEnv says why GoCompile sets key itself, or "" when the caller
// may set it: the target comes from the toolchain, cgo from WithCGO, the
// caches from the cache mounts.
func reservedGoEnv(key string) string {
	switch key {
	case "GOOS", "GOARCH", "GOARM", "GOAMD64":
		return "it comes from the target platform's toolchain"
	case "CGO_ENABLED":
		return "use WithCGO"
	case "GOCACHE", "GOMODCACHE":
		return "the cache is a cache mount"
	}
	return ""
}

// WithGoEnv adds KEY=VALUE environment variables to the go commands
// (GOPROXY, GOPRIVATE, GOFLAGS, GOEXPERIMENT, CC...). Variables that
// GoCompile sets itself (GOOS, GOARCH, GOARM, GOAMD64, CGO_ENABLED, GOCACHE,
// GOMODCACHE) are rejected.
func WithGoEnv(kv ...string) GoOption {
	return func(o *goOptions) error {
		if err := checkEnv("WithGoEnv", "GoCompile", kv, reservedGoEnv); err != nil {
			return err
		}
		o.env = append(o.env, kv...)
		return nil
	}
}

// WithCacheNamespace keys the module and build cache mounts so projects
// sharing a BuildKit daemon do not share caches. Default "default". A Go
// module path ("github.com/example/app") is a good namespace: it may use
// letters, digits and "._-~+/", with no empty or dot-only element.
func WithCacheNamespace(ns string) GoOption {
	return func(o *goOptions) error {
		if !validNamespace(ns) {
			return fmt.Errorf("WithCacheNamespace(%q): want letters, digits and \"._-~+/\" in non-empty elements, like a module path", ns)
		}
		o.namespace = ns
		return nil
	}
}

// WithVendor builds from the module's vendor directory: go build
// -mod=vendor, and no module download step.
func WithVendor() GoOption {
	return func(o *goOptions) error {
		o.vendor = true
		return nil
	}
}

// goNetrcPath is where WithNetrcSecret mounts the secret: tmpfs, for the
// step's life only.
const goNetrcPath = "/run/secrets/crossllb-netrc"

// WithNetrcSecret mounts the build secret id (solver.WithSecrets) as a
// netrc file for the go commands, with NETRC pointing at it: credentials
// for a private module proxy or Git host (Go's GOAUTH=netrc, the default).
// The secret is mounted read-only, owned by root with mode 0400, for the
// module download and compile steps only; it is not part of the cache key,
// the output or the image.
func WithNetrcSecret(id string) GoOption {
	return func(o *goOptions) error {
		if id == "" || strings.ContainsAny(id, "\x00\n") {
			return fmt.Errorf("WithNetrcSecret(%q): want the secret's ID, as given to solver.WithSecrets", id)
		}
		o.netrc = id
		return nil
	}
}

// secretOpts mounts what the go commands need from the build's secrets.
func (o *goOptions) secretOpts() []bk.RunOption {
	if o.netrc == "" {
		return nil
	}
	return []bk.RunOption{
		bk.AddSecret(goNetrcPath, bk.SecretID(o.netrc), bk.SecretFileOpt(0, 0, 0o400)),
		bk.AddEnv("NETRC", goNetrcPath),
	}
}

// GoBinaryName returns the file name GoCompile gives the binary for opts,
// e.g. to write an entrypoint.
func GoBinaryName(opts ...GoOption) (string, error) {
	o, err := newGoOptions(opts)
	if err != nil {
		return "", err
	}
	return o.name, nil
}

// onlyChars reports whether s holds only ASCII letters, digits and the
// bytes of extra.
func onlyChars(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validNamespace reports whether ns is usable in a cache mount ID: path
// elements of letters, digits and "._-~+", none empty, "." or "..".
func validNamespace(ns string) bool {
	for _, elem := range strings.Split(ns, "/") {
		if elem == "" || elem == "." || elem == ".." || !onlyChars(elem, "._-~+") {
			return false
		}
	}
	return true
}

// validEnvKey reports whether k is a shell-style variable name.
func validEnvKey(k string) bool {
	return k != "" && !('0' <= k[0] && k[0] <= '9') && onlyChars(k, "_")
}
