package llb

import (
	"fmt"
	"slices"
	"strings"

	bk "github.com/moby/buildkit/client/llb"

	"github.com/crossllb/crossllb/platforms"
)

// aptRetries is how many times an apt step tries "apt-get update" and
// "apt-get install" before it fails: a mirror that serves an index
// mid-update fails its hash check once in a while (seen with armhf).
const aptRetries = 3

// aptScript returns a shell script that adds the foreign Debian
// architectures archs, then runs "apt-get update" and "apt-get install
// pkgs" until both succeed, at most aptRetries times, and removes the
// package lists afterwards. pkgs and archs must be sorted and checked by
// the caller (validDebianName) so that the script is the same bytes for the
// same inputs.
func aptScript(archs, pkgs []string) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, a := range archs {
		fmt.Fprintf(&b, "dpkg --add-architecture %s\n", a)
	}
	fmt.Fprintf(&b, "i=0\n"+
		"until apt-get update && apt-get install -y --no-install-recommends %s; do\n"+
		"  i=$((i+1))\n"+
		"  if [ \"$i\" -ge %d ]; then echo \"apt-get failed %d times\" >&2; exit 1; fi\n"+
		"  echo \"apt-get failed; retrying in 5s ($i/%d)\" >&2\n"+
		"  sleep 5\n"+
		"done\n"+
		"rm -rf /var/lib/apt/lists/*\n",
		strings.Join(pkgs, " "), aptRetries, aptRetries, aptRetries)
	return b.String()
}

// validDebianName reports whether s is usable as a Debian package or
// architecture name in a shell command: letters, digits and "+-.:".
func validDebianName(s string) bool {
	return s != "" && s[0] != '-' && onlyChars(s, "+-.:")
}

// crossSet is the toolchain rows of every target of one build, checked and
// put in a canonical order, and the build platform's row.
type crossSet struct {
	build   platforms.Toolchain
	targets []platforms.Toolchain
}

// newCrossSet checks that every target can be cross-compiled with Debian's
// gcc from builder.Platform and that tc is one of them. what names the
// step in errors ("cargo build for linux/arm/v7").
func newCrossSet(what string, builder Base, all []platforms.Toolchain, tc platforms.Toolchain) (crossSet, error) {
	if err := checkPlatform(fmt.Sprintf("%s: builder image %q", what, builder.Ref), builder.Platform); err != nil {
		return crossSet{}, err
	}
	build, err := platforms.ToolchainFor(builder.Platform)
	if err != nil || build.DebianArch == "" {
		return crossSet{}, fmt.Errorf("%s: builder image %q is for %s, which has no Debian architecture: the build platform must be a Linux platform Debian supports",
			what, builder.Ref, formatPlatform(builder.Platform))
	}
	if len(all) == 0 {
		return crossSet{}, fmt.Errorf("%s: no targets given: pass every target of the build", what)
	}
	s := crossSet{build: build}
	found := false
	for _, t := range append([]platforms.Toolchain{tc}, all...) {
		if t.DebianArch == "" || t.GNUTriple == "" || t.RustTarget == "" {
			return crossSet{}, fmt.Errorf("%s: target %s has no Debian cross toolchain: get targets from platforms.ToolchainFor, Linux only", what, formatPlatform(t.Platform))
		}
		if len(s.targets) > 0 && platforms.Equal(t.Platform, tc.Platform) {
			found = true // tc itself is checked first, then looked for in all
		}
		if !slices.ContainsFunc(s.targets, func(u platforms.Toolchain) bool { return platforms.Equal(u.Platform, t.Platform) }) {
			s.targets = append(s.targets, t)
		}
	}
	if !found {
		return crossSet{}, fmt.Errorf("%s: the target is not in the list of all targets %s: pass every target of the build, this one included",
			what, s.names())
	}
	// A canonical order, whatever order the caller lists the targets in.
	slices.SortFunc(s.targets, func(a, b platforms.Toolchain) int {
		return strings.Compare(platforms.Format(a.Platform), platforms.Format(b.Platform))
	})
	return s, nil
}

func (s crossSet) names() string {
	var ns []string
	for _, t := range s.targets {
		ns = append(ns, formatPlatform(t.Platform))
	}
	return "[" + strings.Join(ns, " ") + "]"
}

// native reports whether t has the build platform's Debian architecture:
// its compiler is the builder's own gcc, not a cross package.
func (s crossSet) native(t platforms.Toolchain) bool {
	return t.DebianArch == s.build.DebianArch
}

// buildPackages returns the packages of the base install step, for the
// build platform: gcc and libc6-dev (build scripts and the native target
// link with them) and extra; sorted, once each.
func (s crossSet) buildPackages(extra []string) []string {
	pkgs := append([]string{"gcc", "libc6-dev"}, extra...)
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// targetPackages returns the packages t's install step adds on top of
// base (the build platform's packages): the cross gcc and t's libc headers
// ("<GNU triple>-gcc"), and targetPkgs built for t ("libssl-dev:arm64", or
// the plain name for the native architecture); sorted, once each, without
// those base already has. Empty for a native target whose packages are all
// in base.
//
// Debian has no gcc-x86-64-linux-gnu on amd64: for the build platform's
// own architecture the native gcc and libc6-dev of base provide the same
// "<GNU triple>-gcc" command.
func (s crossSet) targetPackages(t platforms.Toolchain, base, targetPkgs []string) []string {
	var pkgs []string
	if s.native(t) {
		pkgs = slices.Clone(targetPkgs)
	} else {
		pkgs = append(t.DebianCrossPackages(), t.DebianMultiarch(targetPkgs...)...)
	}
	pkgs = slices.DeleteFunc(pkgs, func(p string) bool { return slices.Contains(base, p) })
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// baseStep runs the apt script that installs pkgs, the build platform's
// packages (buildPackages), on the builder: one op whatever the targets, so
// that BuildKit runs it once per build and keeps it when targets change.
func (s crossSet) baseStep(builder Base, name string, pkgs []string) bk.State {
	return builder.State().Run(
		bk.Args([]string{"/bin/sh", "-c", aptScript(nil, pkgs)}),
		bk.Platform(builder.Platform),
		bk.AddEnv("DEBIAN_FRONTEND", "noninteractive"),
		bk.User("root"),
		bk.WithCustomNamef("%s for %s", name, formatPlatform(builder.Platform)),
	).Root()
}

// targetStep runs, on base, the apt script that adds t's Debian
// architecture (when foreign) and installs pkgs (targetPackages): one op per
// target, which depends on that target only, so the targets' installs run
// in parallel and adding a target installs that target's packages alone.
// With no pkgs it is base itself.
func (s crossSet) targetStep(base bk.State, builder Base, name string, t platforms.Toolchain, pkgs []string) bk.State {
	if len(pkgs) == 0 {
		return base
	}
	var archs []string
	if !s.native(t) {
		archs = []string{t.DebianArch}
	}
	return base.Run(
		bk.Args([]string{"/bin/sh", "-c", aptScript(archs, pkgs)}),
		bk.Platform(builder.Platform),
		bk.AddEnv("DEBIAN_FRONTEND", "noninteractive"),
		bk.User("root"),
		bk.WithCustomNamef("%s for %s (on %s)", name, formatPlatform(t.Platform), formatPlatform(builder.Platform)),
	).Root()
}

// checkDebianNames rejects package names that would not survive a shell
// command.
func checkDebianNames(option string, pkgs []string) error {
	for _, p := range pkgs {
		if !validDebianName(p) {
			return fmt.Errorf("%s(%q): invalid Debian package name %q", option, pkgs, p)
		}
	}
	return nil
}

// checkTargetPackages checks names of packages installed per target
// architecture: valid Debian names, given without an architecture.
func checkTargetPackages(option string, pkgs []string) error {
	if err := checkDebianNames(option, pkgs); err != nil {
		return err
	}
	for _, p := range pkgs {
		if strings.Contains(p, ":") {
			return fmt.Errorf("%s(%q): %q: give the name without architecture, it is added per target", option, pkgs, p)
		}
	}
	return nil
}
