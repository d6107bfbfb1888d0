package llb

import (
	"fmt"
	"path"
	"strings"

	bk "github.com/moby/buildkit/client/llb"

	"github.com/crossllb/crossllb/platforms"
)

// Where the C build step puts things inside the builder container.
const (
	cSrcDir = "/src"
	cOutDir = "/out"
)

// COption configures [CCompile]. Options are checked when applied: an
// invalid one makes the compile state fail at Marshal.
type COption func(*cOptions) error

type cOptions struct {
	command    []string
	env        []string
	targetPkgs []string
	pkgs       []string
}

func newCOptions(opts []COption) (*cOptions, error) {
	o := &cOptions{command: []string{"make"}}
	if err := applyOptions(o, opts); err != nil {
		return nil, err
	}
	return o, nil
}

// WithCCommand sets the build command, run in the source directory with
// the cross environment of [CCompile]. Default "make". A shell command
// line is run as WithCCommand("/bin/sh", "-c", "./configure --host=$HOST && make").
func WithCCommand(args ...string) COption {
	return func(o *cOptions) error {
		if len(args) == 0 || args[0] == "" {
			return fmt.Errorf("WithCCommand(%q): want a command", args)
		}
		o.command = append([]string(nil), args...)
		return nil
	}
}

// WithCEnv adds KEY=VALUE environment variables to the build command
// (CFLAGS, LDFLAGS...). CC, AR and HOST come from the target's toolchain
// and are rejected.
func WithCEnv(kv ...string) COption {
	return func(o *cOptions) error {
		if err := checkEnv("WithCEnv", "CCompile", kv, reservedCEnv); err != nil {
			return err
		}
		o.env = append(o.env, kv...)
		return nil
	}
}

// WithCTargetPackages installs Debian -dev packages built for every target
// ("zlib1g-dev" becomes zlib1g-dev:arm64 ...) in each target's install step.
func WithCTargetPackages(pkgs ...string) COption {
	return func(o *cOptions) error {
		if err := checkTargetPackages("WithCTargetPackages", pkgs); err != nil {
			return err
		}
		o.targetPkgs = append(o.targetPkgs, pkgs...)
		return nil
	}
}

// WithCBuildPackages installs Debian packages for the build platform
// (cmake, autoconf, pkg-config...) in the base install step, shared by
// every target.
func WithCBuildPackages(pkgs ...string) COption {
	return func(o *cOptions) error {
		if err := checkDebianNames("WithCBuildPackages", pkgs); err != nil {
			return err
		}
		o.pkgs = append(o.pkgs, pkgs...)
		return nil
	}
}

// CCompile cross-compiles a C project in src (make, configure or cmake)
// for tc's target with Debian's cross gcc, on builder.Platform (the build
// platform): nothing runs under emulation. all lists every target of the
// build, tc's included. artifact is the path, relative to the source root,
// of the file the build command makes; the returned state's root holds
// only that file, at "/"+path.Base(artifact).
//
// The graph has two steps, both on builder.Platform (a Debian image, such
// as [DefaultCargoBuilder]):
//
//  1. Install steps as in [CargoCompile]: a base step shared by every
//     target (make, gcc, libc6-dev and [WithCBuildPackages] for the build
//     platform), then on it a step of tc's own with its cross gcc, libc
//     headers and [WithCTargetPackages], apt-get retried on failure.
//  2. The build command (default "make") in a writable copy of src whose
//     changes are dropped, with CC=<GNU triple>-gcc, AR=<GNU triple>-ar,
//     HOST=<GNU triple> (for ./configure --host=$HOST),
//     CROSS_COMPILE=<GNU triple>- and the target's pkg-config directory in
//     the environment; then artifact is copied out.
func CCompile(src bk.State, builder Base, artifact string, tc platforms.Toolchain, all []platforms.Toolchain, opts ...COption) bk.State {
	target := formatPlatform(tc.Platform)
	what := "c build for " + target
	o, err := newCOptions(opts)
	if err != nil {
		return failed(fmt.Errorf("%s: %w", what, err))
	}
	clean := path.Clean(artifact)
	if artifact == "" || path.IsAbs(artifact) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || !onlyChars(strings.ReplaceAll(clean, "/", ""), "_-.+") {
		return failed(fmt.Errorf("%s: artifact %q: want a path relative to the source root, like \"hello\" or \"build/hello\"", what, artifact))
	}
	set, err := newCrossSet(what, builder, all, tc)
	if err != nil {
		return failed(err)
	}
	on := bk.Platform(builder.Platform)
	base := set.buildPackages(append([]string{"make"}, o.pkgs...))
	root := set.baseStep(builder, "install C toolchain", base)
	root = set.targetStep(root, builder, "install C cross toolchain", tc, set.targetPackages(tc, base, o.targetPkgs))

	name := path.Base(clean)
	script := `"$@" && cp ` + cSrcDir + "/" + clean + " " + cOutDir + "/" + name
	runOpts := []bk.RunOption{
		bk.Args(append([]string{"/bin/sh", "-c", script, "sh"}, o.command...)),
		bk.Dir(cSrcDir),
		on,
		bk.WithCustomNamef("%s (%s, %s)", strings.Join(o.command, " "), target, tc.GNUTriple),
		// Writable, changes dropped: make writes its objects next to the
		// sources.
		bk.AddMount(cSrcDir, src, bk.ForceNoOutput),
		bk.AddEnv("CC", tc.CC()),
		bk.AddEnv("AR", tc.GNUTriple+"-ar"),
		bk.AddEnv("HOST", tc.GNUTriple),
		bk.AddEnv("CROSS_COMPILE", tc.GNUTriple+"-"),
		bk.AddEnv("PKG_CONFIG_PATH", "/usr/lib/"+tc.MultiarchTuple+"/pkgconfig"),
	}
	runOpts = append(runOpts, userEnv(o.env)...)
	build := root.Run(runOpts...)
	return build.AddMount(cOutDir, bk.Scratch().Platform(builder.Platform))
}

// CArtifactName is the file name CCompile gives artifact in its result.
func CArtifactName(artifact string) string { return path.Base(path.Clean(artifact)) }

// reservedCEnv says why CCompile sets k itself, or "" when the user may.
func reservedCEnv(k string) string {
	switch k {
	case "CC", "AR", "HOST", "CROSS_COMPILE":
		return "it comes from the target platform's toolchain"
	}
	return ""
}
