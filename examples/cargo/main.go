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

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

func main() { buildflags.Main("cargo", run) }

type config struct {
	*buildflags.Common
	context, bin, builderImage, runtimeImage string
	cacheNS                                  string
	version, revision, source, authors       string
	rustup, musl, offline                    bool
	// noLock is set when the context has no Cargo.lock.
	noLock                        bool
	user                          llb.SystemUser
	aptPackages, aptEmulated      []string
	targetPackages, buildPackages []string
	// runtimeSteps is "native" (llb.WithBuildTools: nothing runs for the
	// target) or "emulated" (the steps run on the target, under QEMU
	// when it is foreign).
	runtimeSteps string
	// scratch is --runtime-image scratch: no runtime step at all.
	scratch bool
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("cargo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{Common: buildflags.Register(fs, "linux/amd64,linux/arm64,linux/arm/v7")}
	var user, aptPackages, aptEmulated, targetPackages, buildPackages string
	var dirs buildflags.Multi
	fs.StringVar(&c.context, "context", "", "the Cargo project to build (default: the hello crate in examples/cargo/testdata/hello)")
	fs.StringVar(&c.bin, "bin", "", "the binary to build (cargo build --bin); default hello with the default --context")
	fs.StringVar(&c.builderImage, "builder-image", llb.DefaultCargoBuilder, "Debian-based image used on the build platform: Debian's rustc and cargo are installed in it (with --rustup: an image with rustup)")
	fs.StringVar(&c.runtimeImage, "runtime-image", "debian:bookworm-slim", "Debian-based base image of the runtime stage, for every target; scratch for static binaries (no user, no packages: the image runs as the numeric --user)")
	fs.StringVar(&user, "user", "", "the system user NAME[:UID[:GID]] the image runs as (default: the binary's name, uid and gid 333333)")
	fs.Var(&dirs, "dir", "a directory the user owns in the image, repeatable (e.g. /data)")
	fs.StringVar(&aptPackages, "apt-packages", "ca-certificates", "Debian packages installed in the runtime stage for each target, comma-separated (empty: none)")
	fs.StringVar(&aptEmulated, "apt-packages-emulated", "", "Debian packages installed by apt-get on the target platform, under QEMU when foreign: for packages whose maintainer scripts must run on the target")
	fs.StringVar(&targetPackages, "target-packages", "", "Debian -dev packages installed for every target in the compile stage, comma-separated (libssl-dev for openssl-sys: pkg-config points at them)")
	fs.StringVar(&buildPackages, "build-packages", "", "Debian packages installed for the build platform in the compile stage, comma-separated (tools build scripts run: pkg-config, cmake, protobuf-compiler)")
	fs.StringVar(&c.runtimeSteps, "runtime-steps", "native", "how the user, its directories and --apt-packages are made: native (on the build platform, editing the target's files: no emulation) or emulated (on the target, as a Dockerfile RUN)")
	fs.StringVar(&c.version, "version", "", "org.opencontainers.image.version")
	fs.StringVar(&c.revision, "revision", "", "org.opencontainers.image.revision (default: the git commit of --context when it is a git work tree)")
	fs.StringVar(&c.source, "source", "", "org.opencontainers.image.source and .url")
	fs.StringVar(&c.authors, "authors", "", "org.opencontainers.image.authors")
	fs.StringVar(&c.cacheNS, "cache-namespace", "", "keys the cargo cache mounts (default: crossllb-cargo/<bin>)")
	fs.BoolVar(&c.rustup, "rustup", false, "the builder image has rustup: rustup target add instead of Debian's rustc")
	fs.BoolVar(&c.musl, "musl", false, "build static musl binaries (needs --rustup: Debian's rustc has no musl standard library)")
	fs.BoolVar(&c.offline, "offline", false, "cargo build --offline")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cargo [flags]\n\nBuild a multi-platform image of a Rust program, cross-compiled on the BuildKit worker's platform.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := c.ParseArgs(fs, args); err != nil {
		return nil, err
	}
	var err error
	if c.context == "" {
		if c.context, err = defaultContext(); err != nil {
			return nil, buildflags.UsageError{Err: err}
		}
		if c.bin == "" {
			c.bin = "hello"
		}
	}
	if st, err := os.Stat(filepath.Join(c.context, "Cargo.toml")); err != nil || st.IsDir() {
		return nil, buildflags.UsageError{Err: fmt.Errorf("--context %s: no Cargo.toml (a Cargo project is needed)", c.context)}
	}
	if c.bin == "" {
		return nil, buildflags.UsageError{Err: errors.New("--bin: the binary to build is required with --context")}
	}
	if _, err := os.Stat(filepath.Join(c.context, "Cargo.lock")); errors.Is(err, os.ErrNotExist) {
		c.noLock = true
	}
	if c.user, err = parseUser(user, c.bin); err != nil {
		return nil, buildflags.UsageError{Err: err}
	}
	c.user.Dirs = dirs
	if aptPackages != "" {
		c.aptPackages = strings.Split(aptPackages, ",")
	}
	if aptEmulated != "" {
		c.aptEmulated = strings.Split(aptEmulated, ",")
	}
	if targetPackages != "" {
		c.targetPackages = strings.Split(targetPackages, ",")
	}
	if buildPackages != "" {
		c.buildPackages = strings.Split(buildPackages, ",")
	}
	if c.runtimeSteps != "native" && c.runtimeSteps != "emulated" {
		return nil, buildflags.UsageError{Err: fmt.Errorf("--runtime-steps %q: want native or emulated", c.runtimeSteps)}
	}
	if c.musl && !c.rustup {
		return nil, buildflags.UsageError{Err: errors.New("--musl needs --rustup: Debian's rustc has no standard library for musl targets")}
	}
	if c.runtimeImage == "scratch" {
		// Nothing can be installed or created in scratch: the image runs
		// as the numeric --user, and only a static binary starts in it.
		c.scratch = true
		c.StaticDefault = true
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, name := range []string{"apt-packages", "apt-packages-emulated", "dir"} {
			if set[name] && fs.Lookup(name).Value.String() != "" {
				return nil, buildflags.UsageError{Err: fmt.Errorf("--%s with --runtime-image scratch: scratch has no package manager nor account files; use a Debian-based runtime image", name)}
			}
		}
		c.aptPackages = nil
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
	var all []platforms.Toolchain
	for _, p := range c.Targets {
		tc, err := platforms.ToolchainFor(p)
		if err != nil {
			return buildflags.UsageError{Err: fmt.Errorf("--platform: %w", err)}
		}
		all = append(all, tc)
	}
	cargoOpts := cargoOptions(c)
	if c.noLock {
		fmt.Fprintf(stderr, "cargo: %s has no Cargo.lock: cargo resolves the dependencies inside the build (commit a Cargo.lock for reproducible builds; it is then enforced with --locked)\n", c.context)
	}
	var rtOpts []llb.RuntimeOption
	if len(c.aptPackages) > 0 {
		rtOpts = append(rtOpts, llb.WithAptInstall(c.aptPackages...))
	}
	if len(c.aptEmulated) > 0 {
		rtOpts = append(rtOpts, llb.Emulated(llb.WithAptInstall(c.aptEmulated...)))
	}
	if !c.scratch {
		rtOpts = append(rtOpts, llb.WithSystemUser(c.user))
	}
	// Check the flags' values before contacting the daemon, by marshalling
	// the graphs of the first target. The build platform is not known
	// yet: any Debian one does for the check.
	checkBuild := platforms.MustParse("linux/amd64")
	for _, check := range []bk.State{
		llb.CargoCompile(bk.Scratch(), llb.Base{Ref: c.builderImage, Platform: checkBuild}, c.bin, all[0], all, cargoOpts...),
		llb.RuntimeStage(llb.Scratch(all[0].Platform), nil, rtOpts...),
	} {
		if _, err := check.Marshal(ctx, bk.Platform(checkBuild)); err != nil {
			return buildflags.UsageError{Err: err}
		}
	}
	if c.revision == "" {
		c.revision = gitRevision(ctx, c.context)
	}
	absContext, err := filepath.Abs(c.context)
	if err != nil {
		return buildflags.UsageError{Err: fmt.Errorf("--context: %w", err)}
	}
	contextID := "crossllb-cargo:" + absContext

	cl, err := solver.Connect(ctx, c.Addr, c.ConnectOptions()...)
	if err != nil {
		return err
	}
	defer cl.Close()

	created := c.Created()
	ann := llb.OCIAnnotations{
		Created: &created, Title: c.bin, Authors: c.authors,
		URL: c.source, Source: c.source, Version: c.version, Revision: c.revision,
	}.Map()
	labels := maps.Clone(ann)
	maps.Copy(labels, c.Labels)

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
		rtOpts := rtOpts
		if c.runtimeSteps == "native" && !c.scratch {
			// The runtime image for the build platform edits the
			// target's files: no step runs for the target.
			tools, err := llb.ResolveBase(ctx, t.Resolver, c.runtimeImage, t.Build)
			if err != nil {
				return bk.State{}, ocispec.Image{}, fmt.Errorf("--runtime-image for the build platform (--runtime-steps native): %w", err)
			}
			rtOpts = append([]llb.RuntimeOption{llb.WithBuildTools(tools)}, rtOpts...)
		}
		// A fixed unique ID keeps the source op identical across targets.
		// What the context sends is filtered on this side: .git, target,
		// .dockerignore, --exclude (buildflags.Common.Local).
		src := bk.Local("context", bk.SharedKeyHint(absContext), bk.LocalUniqueID(contextID))
		spec := llb.ImageSpec{Labels: labels, Created: &created, User: c.user.ConfigUser()}
		st := llb.CargoImage(src, builder, base, c.bin, tc, all, spec, cargoOpts, rtOpts...)
		return st.Runtime, st.Config, nil
	}

	// Left out by default: every .git, and cargo's target directory.
	opts := append(c.Options(stderr, ann, llb.CargoBinaryDir+"/"+c.bin), c.Local("context", c.context, "**/.git", "target"))
	res, err := cl.Build(ctx, c.Targets, target, opts...)
	if err != nil {
		return err
	}
	return c.PrintResult(c.SummaryOut(stdout, stderr), res)
}

func cargoOptions(c *config) []llb.CargoOption {
	ns := c.cacheNS
	if ns == "" {
		ns = "crossllb-cargo/" + c.bin
	}
	opts := []llb.CargoOption{llb.WithCargoCacheNamespace(ns)}
	if c.rustup {
		opts = append(opts, llb.WithRustup())
	}
	if c.musl {
		opts = append(opts, llb.WithMusl())
	}
	if c.offline {
		opts = append(opts, llb.WithCargoOffline())
	}
	if c.noLock {
		opts = append(opts, llb.WithoutCargoLock())
	}
	if len(c.targetPackages) > 0 {
		opts = append(opts, llb.WithTargetPackages(c.targetPackages...))
	}
	if len(c.buildPackages) > 0 {
		opts = append(opts, llb.WithBuildPackages(c.buildPackages...))
	}
	return opts
}
