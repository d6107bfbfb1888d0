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
		return crossSet{}, fmt.Errorf("%s: no targets given: pass every target of the build, so that the toolchain install step is shared", what)
	}
	s := crossSet{build: build}
	found := false
	for _, t := range append([]platforms.Toolchain{tc}, all...) {
		if t.DebianArch == "" || t.GNUTriple == "" || t.RustTarget == "" {
			return crossSet{}, fmt.Errorf("%s: target %s has no Debian cross toolchain: get targets from platforms.ToolchainFor, Linux only", what, formatPlatform(t.Platform))
		}
		if len(s.targets) > 0 && samePlatform(t.Platform, tc.Platform) {
			found = true // tc itself is checked first, then looked for in all
		}
		if !slices.ContainsFunc(s.targets, func(u platforms.Toolchain) bool { return samePlatform(u.Platform, t.Platform) }) {
			s.targets = append(s.targets, t)
		}
	}
	if !found {
		return crossSet{}, fmt.Errorf("%s: the target is not in the list of all targets %s: pass every target of the build, this one included",
			what, s.names())
	}
	// The install step must be the same op whatever order the caller
	// lists the targets in.
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

// foreignArchs returns the Debian architectures to add with dpkg
// --add-architecture: those of the targets that are not native, sorted,
// once each.
func (s crossSet) foreignArchs() []string {
	var archs []string
	for _, t := range s.targets {
		if !s.native(t) && !slices.Contains(archs, t.DebianArch) {
			archs = append(archs, t.DebianArch)
		}
	}
	slices.Sort(archs)
	return archs
}

// packages returns the Debian packages that give every target a C
// toolchain ("<GNU triple>-gcc" and the target's libc headers), plus each
// of targetPkgs built for each target ("libssl-dev:arm64", or the plain
// name for the native architecture), plus extra as given; sorted, once
// each.
//
// Debian has no gcc-x86-64-linux-gnu on amd64: for the build platform's
// own architecture the native gcc and libc6-dev provide the same
// "<GNU triple>-gcc" command.
func (s crossSet) packages(extra, targetPkgs []string) []string {
	pkgs := slices.Clone(extra)
	for _, t := range s.targets {
		if s.native(t) {
			pkgs = append(pkgs, "gcc", "libc6-dev")
			pkgs = append(pkgs, targetPkgs...)
			continue
		}
		pkgs = append(pkgs, t.DebianCrossPackages()...)
		pkgs = append(pkgs, t.DebianMultiarch(targetPkgs...)...)
	}
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// installStep runs the apt script that installs pkgs for every target on
// the builder: one op for the whole build, as its inputs do not depend on
// the target being built.
func (s crossSet) installStep(builder Base, name string, pkgs []string) bk.State {
	return builder.State().Run(
		bk.Args([]string{"/bin/sh", "-c", aptScript(s.foreignArchs(), pkgs)}),
		bk.Platform(builder.Platform),
		bk.AddEnv("DEBIAN_FRONTEND", "noninteractive"),
		bk.User("root"),
		bk.WithCustomNamef("%s for %s", name, s.names()),
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
