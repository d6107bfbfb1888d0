// Command cargo builds a multi-platform image of a Rust program through
// BuildKit, the fast way: cargo runs on the BuildKit worker's native
// platform and cross-compiles for every target with Debian's cross gcc as
// the linker; only the runtime stage (the binary, a system user, its
// directories, ca-certificates) is built per target, and nothing of it is
// emulated: the user and the packages are made on the build platform by
// editing the target's files (llb.WithBuildTools; --runtime-steps emulated
// runs them on the target instead). One OCI image index comes out.
//
//	go run ./examples/cargo --context DIR --bin NAME \
//	    --platform linux/amd64,linux/arm64,linux/arm/v7 \
//	    --user trow:333333 --dir /data/layers --dir /data/scratch --dir /certs \
//	    --output type=image,name=registry.example.com/app:v1,push=true
//
// Without --context it builds its own testdata crate, which prints the
// architecture it was compiled for and the user it runs as. The image
// follows the recipe that Rust services such as Trow hand-write in
// Dockerfiles: compile on $BUILDPLATFORM with CARGO_TARGET_<T>_LINKER,
// then a debian runtime with a system user (uid/gid 333333) that owns the
// data directories, USER set, and org.opencontainers.image.* labels.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/llb/recipe"
	"github.com/crossllb/crossllb/solver"
)

func main() { buildflags.Main("cargo", run) }

type config struct {
	*buildflags.Common
	recipe *recipe.Cargo
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("cargo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{Common: buildflags.Register(fs, "linux/amd64,linux/arm64,linux/arm/v7")}
	var f cargoFlags
	var user, aptPackages, aptEmulated, targetPackages, buildPackages string
	var dirs buildflags.Multi
	fs.StringVar(&f.context, "context", "", "the Cargo project to build (default: the hello crate in examples/cargo/testdata/hello)")
	fs.StringVar(&f.bin, "bin", "", "the binary to build (cargo build --bin); default hello with the default --context")
	fs.StringVar(&f.builderImage, "builder-image", llb.DefaultCargoBuilder, "Debian-based image used on the build platform: Debian's rustc and cargo are installed in it (with --rustup: an image with rustup)")
	fs.StringVar(&f.runtimeImage, "runtime-image", "debian:bookworm-slim", "Debian-based base image of the runtime stage, for every target; scratch for static binaries (no user, no packages: the image runs as the numeric --user)")
	fs.StringVar(&user, "user", "", "the system user NAME[:UID[:GID]] the image runs as (default: the binary's name, uid and gid 333333)")
	fs.Var(&dirs, "dir", "a directory the user owns in the image, repeatable (e.g. /data)")
	fs.StringVar(&aptPackages, "apt-packages", "ca-certificates", "Debian packages installed in the runtime stage for each target, comma-separated (empty: none)")
	fs.StringVar(&aptEmulated, "apt-packages-emulated", "", "Debian packages installed by apt-get on the target platform, under QEMU when foreign: for packages whose maintainer scripts must run on the target")
	fs.StringVar(&targetPackages, "target-packages", "", "Debian -dev packages installed for every target in the compile stage, comma-separated (libssl-dev for openssl-sys: pkg-config points at them)")
	fs.StringVar(&buildPackages, "build-packages", "", "Debian packages installed for the build platform in the compile stage, comma-separated (tools build scripts run: pkg-config, cmake, protobuf-compiler)")
	fs.StringVar(&f.runtimeSteps, "runtime-steps", "native", "how the user, its directories and --apt-packages are made: native (on the build platform, editing the target's files: no emulation) or emulated (on the target, as a Dockerfile RUN)")
	fs.StringVar(&f.version, "version", "", "org.opencontainers.image.version")
	fs.StringVar(&f.revision, "revision", "", "org.opencontainers.image.revision (default: the git commit of --context when it is a git work tree)")
	fs.StringVar(&f.source, "source", "", "org.opencontainers.image.source and .url")
	fs.StringVar(&f.authors, "authors", "", "org.opencontainers.image.authors")
	fs.StringVar(&f.cacheNS, "cache-namespace", "", "keys the cargo cache mounts (default: crossllb-cargo/<bin>)")
	fs.BoolVar(&f.rustup, "rustup", false, "the builder image has rustup: rustup target add instead of Debian's rustc")
	fs.BoolVar(&f.musl, "musl", false, "build static musl binaries (needs --rustup: Debian's rustc has no musl standard library)")
	fs.BoolVar(&f.offline, "offline", false, "cargo build --offline")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cargo [flags]\n\nBuild a multi-platform image of a Rust program, cross-compiled on the BuildKit worker's platform.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := c.ParseArgs(fs, args); err != nil {
		return nil, err
	}
	if f.runtimeSteps != "native" && f.runtimeSteps != "emulated" {
		return nil, buildflags.UsageError{Err: fmt.Errorf("--runtime-steps %q: want native or emulated", f.runtimeSteps)}
	}
	if f.musl && !f.rustup {
		return nil, buildflags.UsageError{Err: errors.New("--musl needs --rustup: Debian's rustc has no standard library for musl targets")}
	}
	var err error
	if f.context == "" {
		if f.context, err = defaultContext(); err != nil {
			return nil, buildflags.UsageError{Err: err}
		}
		if f.bin == "" {
			f.bin = "hello"
		}
	}
	if f.bin == "" {
		return nil, buildflags.UsageError{Err: errors.New("--bin: the binary to build is required with --context")}
	}
	u, err := parseUser(user, f.bin)
	if err != nil {
		return nil, buildflags.UsageError{Err: err}
	}
	u.Dirs = dirs
	if f.runtimeImage == "scratch" {
		// Nothing can be installed or created in scratch: the image runs
		// as the numeric --user, and only a static binary starts in it.
		set := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		for _, name := range []string{"apt-packages", "apt-packages-emulated", "dir"} {
			if set[name] && fs.Lookup(name).Value.String() != "" {
				return nil, buildflags.UsageError{Err: fmt.Errorf("--%s with --runtime-image scratch: scratch has no package manager nor account files; use a Debian-based runtime image", name)}
			}
		}
		aptPackages = ""
	}
	if f.revision == "" {
		f.revision = gitRevision(context.Background(), f.context)
	}
	created := c.Created()
	c.recipe = &recipe.Cargo{
		Image: recipe.Image{
			Platforms:     c.Targets,
			RuntimeImage:  f.runtimeImage,
			User:          &u,
			AptPackages:   splitList(aptPackages),
			EmulatedSteps: f.runtimeSteps == "emulated",
			Labels:        c.Labels,
			Annotations: llb.OCIAnnotations{
				Authors: f.authors, URL: f.source, Source: f.source, Version: f.version, Revision: f.revision,
			}.Map(),
			Created:  created,
			Exclude:  c.Excludes,
			NoVerify: !c.Verify,
			Static:   c.Static,
		},
		Context:             f.context,
		Bin:                 f.bin,
		BuilderImage:        f.builderImage,
		Rustup:              f.rustup,
		Musl:                f.musl,
		Offline:             f.offline,
		TargetPackages:      splitList(targetPackages),
		BuildPackages:       splitList(buildPackages),
		EmulatedAptPackages: splitList(aptEmulated),
		CacheNamespace:      f.cacheNS,
	}
	// The OCI labels the hand-written Dockerfiles set: the same as the
	// annotations, with the recipe's own: title, and created when
	// --source-date-epoch gives it.
	labels := llb.OCIAnnotations{Created: created, Title: f.bin}.Map()
	maps.Copy(labels, c.recipe.Annotations)
	maps.Copy(labels, c.Labels)
	c.recipe.Labels = labels
	if err := c.recipe.Check(); err != nil {
		return nil, buildflags.UsageError{Err: cargoFlagError(err)}
	}
	return &c, nil
}

// parseUser parses NAME[:UID[:GID]]; GID defaults to UID, UID to
// llb.DefaultServiceID, NAME to the binary's name.
func parseUser(s, bin string) (llb.SystemUser, error) {
	u := llb.SystemUser{Name: bin, UID: llb.DefaultServiceID, GID: llb.DefaultServiceID}
	if s == "" {
		return u, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 || parts[0] == "" {
		return u, fmt.Errorf("--user %q: want NAME[:UID[:GID]]", s)
	}
	u.Name = parts[0]
	for i, p := range parts[1:] {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return u, fmt.Errorf("--user %q: %q is not a positive number (the user is never root)", s, p)
		}
		if i == 0 {
			u.UID, u.GID = n, n
		} else {
			u.GID = n
		}
	}
	return u, nil
}

// defaultContext finds the hello crate next to this file.
func defaultContext() (string, error) {
	candidates := []string{filepath.Join("examples", "cargo", "testdata", "hello")}
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "testdata", "hello"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "Cargo.toml")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("--context not given and the default hello crate is not at %s: pass --context DIR", candidates[0])
}

// gitRevision is the commit checked out in dir, or "" when dir is not in a
// git work tree (or git is missing).
func gitRevision(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.recipe.NoLockFile() {
		fmt.Fprintf(stderr, "cargo: %s has no Cargo.lock: cargo resolves the dependencies inside the build (commit a Cargo.lock for reproducible builds; it is then enforced with --locked)\n", c.recipe.Context)
	}
	cl, err := solver.Connect(ctx, c.Addr, c.ConnectOptions()...)
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := c.recipe.Build(ctx, cl, c.Options(stderr)...)
	if err != nil {
		return err
	}
	return c.PrintResult(c.SummaryOut(stdout, stderr), res)
}

// cargoFlags are the example's own flags, before they become a
// recipe.Cargo.
type cargoFlags struct {
	context, bin, builderImage, runtimeImage string
	cacheNS, runtimeSteps                    string
	version, revision, source, authors       string
	rustup, musl, offline                    bool
}

// splitList splits a comma-separated flag value; "" is none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// cargoFlagError names the flag behind a recipe field in err.
func cargoFlagError(err error) error {
	msg := err.Error()
	for field, flag := range map[string]string{
		"Context":             "--context",
		"Bin":                 "--bin",
		"Platforms":           "--platform",
		"RuntimeImage":        "--runtime-image",
		"User.Dirs":           "--dir",
		"EmulatedAptPackages": "--apt-packages-emulated",
		"AptPackages":         "--apt-packages",
	} {
		if rest, ok := strings.CutPrefix(msg, field); ok {
			return errors.New(flag + rest)
		}
	}
	return err
}
