// Package gorecipe is the command-line face of recipe.Go that the gobuild
// and multinode examples share: its flags (--context, --package,
// --builder-image, --runtime-image, --ldflags, --tags, --cache-namespace)
// turned into a recipe.Go. The recipe itself is the library's
// (github.com/crossllb/crossllb/llb/recipe).
package gorecipe

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/llb/recipe"
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
	fs.StringVar(&f.BuilderImage, "builder-image", recipe.DefaultGoBuilder, "image with the Go toolchain, used on the build platform")
	fs.StringVar(&f.RuntimeImage, "runtime-image", "scratch", "base image of the runtime stage, for every target")
	fs.StringVar(&f.LDFlags, "ldflags", "", "go build -ldflags")
	fs.StringVar(&f.Tags, "tags", "", "go build -tags, comma-separated")
	fs.StringVar(&f.CacheNamespace, "cache-namespace", "", "keys the Go cache mounts (default: the module path)")
	return f
}

// Recipe turns the flags, and the shared ones in c (targets, labels,
// --exclude, --verify, --static, --source-date-epoch), into the library's
// recipe, checked: its errors name the flag.
func (f *Flags) Recipe(c *buildflags.Common) (*recipe.Go, error) {
	if f.Context == "" {
		var err error
		if f.Context, err = defaultContext(); err != nil {
			return nil, err
		}
	}
	g := &recipe.Go{
		Image: recipe.Image{
			Platforms:    c.Targets,
			RuntimeImage: f.RuntimeImage,
			Labels:       c.Labels,
			Created:      c.Created(),
			Exclude:      c.Excludes,
			NoVerify:     !c.Verify,
			Static:       c.Static,
		},
		Context:        f.Context,
		Binaries:       []recipe.GoBinary{{Package: f.Package}},
		BuilderImage:   f.BuilderImage,
		LDFlags:        f.LDFlags,
		NetrcSecret:    f.NetrcSecret,
		CacheNamespace: f.CacheNamespace,
	}
	if f.Tags != "" {
		g.Tags = strings.Split(f.Tags, ",")
	}
	if err := g.Check(); err != nil {
		return nil, flagError(err)
	}
	return g, nil
}

// flagError names the flag behind a recipe field in err.
func flagError(err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "Binaries[0]: "); ok {
		if strings.HasPrefix(rest, "package ") {
			return errors.New("--" + rest) // "--package ./cmd/x: ..."
		}
		return errors.New("--package: " + rest)
	}
	for field, flag := range map[string]string{
		"Context":      "--context",
		"Platforms":    "--platform",
		"RuntimeImage": "--runtime-image",
	} {
		if rest, ok := strings.CutPrefix(msg, field); ok {
			return errors.New(flag + rest)
		}
	}
	return err
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
