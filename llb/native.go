package llb

import (
	"fmt"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// targetRoot is where a native runtime step mounts the target's root
// filesystem inside the build-platform tools container.
const targetRoot = "/target"

// WithBuildTools makes the runtime stage's system users, directories and
// Debian packages without executing anything for the target: each such
// step runs on tools.Platform (the build platform) in the tools image,
// with the target's root filesystem mounted at /target, and edits it as
// data. tools is normally the runtime base image resolved for the build
// platform (ResolveBase(ctx, r, "debian:bookworm-slim", buildPlatform)):
// it needs shadow's groupadd and useradd (--prefix), apt and dpkg.
//
//   - [WithSystemUser]: groupadd/useradd --prefix /target write the
//     target's /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow as
//     useradd --system does; mkdir and chown make the directories.
//   - [WithAptInstall]: apt resolves and downloads the packages for the
//     target's Debian architecture against the target's own sources and
//     dpkg status, and dpkg installs them with --root=/target
//     --force-script-chrootless (DPKG_ROOT, as mmdebstrap's chrootless
//     mode does). Maintainer scripts that do not honour DPKG_ROOT would act
//     on the tools container instead of the image: crossllb does the work
//     of the few it knows (ca-certificates' bundle and links, netbase,
//     openssl) for the target root, and refuses any other before
//     installing, naming the package and the script; install such a
//     package with [Emulated](WithAptInstall(...)).
//
// Steps for a target whose platform is tools.Platform run in the target
// itself, as without this option: that is native already. [WithRun],
// [WithShell] and [WithRunOnArtifacts] are commands of the user's and
// still run on the target platform; [Emulated] keeps any step there.
func WithBuildTools(tools Base) RuntimeOption {
	return func(o *runtimeOptions) error {
		if tools.IsScratch() {
			return fmt.Errorf("WithBuildTools(%q): the tools image must have a shell, apt, dpkg and useradd (use the runtime base image resolved for the build platform)", tools.Ref)
		}
		if err := checkPlatform(fmt.Sprintf("WithBuildTools(%q)", tools.Ref), tools.Platform); err != nil {
			return err
		}
		t := tools
		o.tools = &t
		return nil
	}
}

// Emulated makes the steps that opt adds run on the target platform, as a
// Dockerfile's RUN does: under QEMU when the target is foreign to the
// worker, even with [WithBuildTools]. Use it for a package whose
// maintainer scripts need to run on the target. The steps are marked as
// meant to be emulated, so that the solver's forbid policy lets them
// through; they are still reported.
func Emulated(opt RuntimeOption) RuntimeOption {
	return func(o *runtimeOptions) error {
		if opt == nil {
			return fmt.Errorf("Emulated(nil): want an option such as WithAptInstall(...)")
		}
		n := len(o.steps)
		if err := opt(o); err != nil {
			return err
		}
		for i := n; i < len(o.steps); i++ {
			o.steps[i].emulated = true
		}
		return nil
	}
}

// emulationAllowedKey is the op description key that marks an exec step
// as meant to run under emulation. It is the solver package's
// AllowEmulation marker (solver does not import llb, so the key is
// repeated there; integration tests check the two agree).
const emulationAllowedKey = "crossllb.emulation"

// sameArch reports whether a step for p runs natively where tools runs:
// the same OS and architecture (a variant of the architecture runs on the
// CPU itself).
func sameArch(p, tools ocispec.Platform) bool {
	return p.OS == tools.OS && normalizedArch(p) == normalizedArch(tools)
}

// nativeScript is where a native step's script is mounted: a file, so
// that a failure reads `process "/bin/sh /crossllb/step.sh" did not
// complete` rather than quoting the whole script.
const (
	nativeScriptDir  = "/crossllb"
	nativeScriptPath = nativeScriptDir + "/step.sh"
)

// nativeStep runs script in tools on the build platform with target
// mounted read-write at /target, and returns the mount's result: target
// with the script's changes, as one layer.
func nativeStep(tools bk.State, toolsPlatform bk.ConstraintsOpt, target bk.State, script string, env []string, name string) bk.State {
	file := bk.Scratch().File(bk.Mkfile("/step.sh", 0o644, []byte(script)), toolsPlatform,
		bk.WithCustomNamef("script of %s", name))
	opts := []bk.RunOption{
		bk.Args([]string{"/bin/sh", nativeScriptPath}),
		toolsPlatform,
		bk.WithCustomName(name),
		bk.AddMount(nativeScriptDir, file, bk.Readonly),
	}
	run := tools.Run(append(opts, userEnv(env)...)...)
	return run.AddMount(targetRoot, target)
}

// nativeUserScript is [SystemUser.script] for a target root mounted at
// /target: shadow's --prefix edits the target's account files (and reads
// its login.defs) without chroot and without running a target binary.
func (u SystemUser) nativeUserScript() string {
	uid, gid := u.ids()
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\ngroupadd --prefix %s --system -K SYS_GID_MIN=%d -K SYS_GID_MAX=%d --gid %d %s\n", targetRoot, gid, gid, gid, u.Name)
	fmt.Fprintf(&b, "useradd --prefix %s --system -K SYS_UID_MIN=%d -K SYS_UID_MAX=%d --no-log-init --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid %d --gid %d %s\n", targetRoot, uid, uid, uid, gid, u.Name)
	if dirs := u.cleanDirs(); len(dirs) > 0 {
		for i, d := range dirs {
			dirs[i] = targetRoot + d
		}
		fmt.Fprintf(&b, "mkdir -p %s\nchown %d:%d %s\n", strings.Join(dirs, " "), uid, gid, strings.Join(dirs, " "))
	}
	return b.String()
}

// aptToolsScript readies the tools image for native apt steps: the
// ca-certificates fix-up runs the build platform's update-ca-certificates
// and openssl. One op, identical for every target, so it runs once.
const aptToolsScript = `set -e
if command -v openssl >/dev/null && [ -x /usr/sbin/update-ca-certificates ]; then exit 0; fi
i=0
until apt-get update && apt-get install -y --no-install-recommends ca-certificates openssl; do
  i=$((i+1))
  if [ "$i" -ge 3 ]; then echo "apt-get failed 3 times" >&2; exit 1; fi
  echo "apt-get failed; retrying in 5s ($i/3)" >&2
  sleep 5
done
rm -rf /var/lib/apt/lists/*
`

// reviewedPackages are packages whose maintainer scripts do not honour
// DPKG_ROOT and whose effect nativeAptScript reproduces on the target
// root (see the fix-ups there), space-separated.
const reviewedPackages = "ca-certificates netbase openssl"

// nativeAptScript installs pkgs (sorted, checked names) for the Debian
// architecture arch into the root mounted at /target, from the build
// platform. apt works on the target's sources, dpkg status and
// architecture; package lists and archives stay in the tools container.
func nativeAptScript(arch string, pkgs []string) string {
	return fmt.Sprintf(`set -eu
R=%[1]s A=%[2]s PKGS=%[3]q REVIEWED=%[4]q W=/tmp/crossllb-apt
mkdir -p "$W/lists/partial" "$W/archives/partial"
cat >"$W/apt.conf" <<EOF
APT::Architecture "$A";
APT::Architectures { "$A"; };
APT::Install-Recommends "false";
Acquire::Languages "none";
Dir "$R/";
Dir::State::Lists "$W/lists/";
Dir::Cache::Archives "$W/archives/";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Etc::Trusted "/etc/apt/trusted.gpg";
Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d/";
DPkg::Options { "--root=$R"; "--force-script-chrootless"; "--log=$R/var/log/dpkg.log"; "--force-confdef"; "--force-confold"; };
EOF
export APT_CONFIG="$W/apt.conf" DEBIAN_FRONTEND=noninteractive
# dpkg here is the build platform's: it installs $A packages into the target
# root only when its database lists $A.
if ! grep -qx "$A" "$R/var/lib/dpkg/arch" 2>/dev/null; then
  added_arch=1
  echo "$A" >>"$R/var/lib/dpkg/arch"
fi
i=0
until apt-get update && apt-get install -y --download-only $PKGS; do
  i=$((i+1))
  if [ "$i" -ge %[5]d ]; then echo "apt-get failed %[5]d times" >&2; exit 1; fi
  echo "apt-get failed; retrying in 5s ($i/%[5]d)" >&2
  sleep 5
done
# Maintainer scripts run here, not chrooted: one that ignores DPKG_ROOT
# would act on this container, not on the image.
new= bad=
for deb in "$W"/archives/*.deb; do
  [ -e "$deb" ] || continue
  pkg=$(dpkg-deb --field "$deb" Package)
  new="$new $pkg"
  case " $REVIEWED " in *" $pkg "*) continue ;; esac
  rm -rf "$W/ctl" && dpkg-deb --control "$deb" "$W/ctl"
  for s in "$W/ctl/preinst" "$W/ctl/postinst" "$R/var/lib/dpkg/info/$pkg.prerm" "$R/var/lib/dpkg/info/$pkg:$A.prerm"; do
    if [ -f "$s" ] && ! grep -q DPKG_ROOT "$s"; then bad="$bad $pkg:${s##*[/.]}"; fi
  done
done
if [ -n "$bad" ]; then
  echo "crossllb: maintainer scripts that ignore DPKG_ROOT (package:script):$bad" >&2
  echo "crossllb: they would configure the build container, not the $A image; install those packages with llb.Emulated(llb.WithAptInstall(...)) (examples: --apt-packages-emulated), which runs them on the target under emulation" >&2
  exit 1
fi
echo "crossllb: installing for $A without emulation:$new"
apt-get install -y --no-download $PKGS
if [ -n "${added_arch:-}" ]; then sed -i "/^$A\$/d" "$R/var/lib/dpkg/arch"; [ -s "$R/var/lib/dpkg/arch" ] || rm -f "$R/var/lib/dpkg/arch"; fi
installed() { case " $new " in *" $1 "*) return 0 ;; esac; return 1; }
if installed openssl && [ ! -e "$R/usr/lib/ssl" ]; then ln -sf /etc/ssl "$R/usr/lib/ssl"; fi
if installed netbase && [ ! -e "$R/etc/networks" ]; then
  printf 'default\t\t0.0.0.0\nloopback\t127.0.0.0\nlink-local\t169.254.0.0\n\n' >"$R/etc/networks"
fi
if installed ca-certificates; then
  # What ca-certificates' postinst does on a new install, for the target:
  # /usr/local/share/ca-certificates, /etc/ca-certificates.conf listing every
  # certificate (its debconf default), then update-ca-certificates. That
  # script runs from the build platform with the target's paths linked in,
  # so the links it writes read /usr/share/ca-certificates/..., as in an
  # emulated install.
  if [ ! -e "$R/usr/local/share/ca-certificates" ]; then
    mkdir -m "$(stat -L -c %%a "$R/usr/local")" "$R/usr/local/share/ca-certificates"
    chgrp "$(stat -L -c %%g "$R/usr/local")" "$R/usr/local/share/ca-certificates"
  fi
  conf="$R/etc/ca-certificates.conf"
  if [ ! -s "$conf" ]; then
    cat >"$conf" <<'EOF'
# This file lists certificates that you wish to use or to ignore to be
# installed in /etc/ssl/certs.
# update-ca-certificates(8) will update /etc/ssl/certs by reading this file.
#
# This is autogenerated by dpkg-reconfigure ca-certificates.
# Certificates should be installed under /usr/share/ca-certificates
# and files with extension '.crt' is recognized as available certs.
#
# line begins with # is comment.
# line begins with ! is certificate filename to be deselected.
#
EOF
  fi
  (cd "$R/usr/share/ca-certificates" && find . -type f -name '*.crt' | sed 's|^\./||' | LC_ALL=C sort) | while read -r crt; do
    grep -qxF -e "$crt" -e "!$crt" "$conf" || echo "$crt" >>"$conf"
  done
  for p in /etc/ssl/certs /usr/share/ca-certificates /usr/local/share/ca-certificates /etc/ca-certificates.conf; do
    rm -rf "$p" && ln -s "$R$p" "$p"
  done
  update-ca-certificates --hooksdir ""
  if [ -n "$(ls -A "$R/etc/ca-certificates/update.d" 2>/dev/null)" ]; then
    echo "crossllb: warning: the hooks in /etc/ca-certificates/update.d of the $A image did not run (they are the target's programs)" >&2
  fi
fi
`, targetRoot, arch, strings.Join(pkgs, " "), reviewedPackages, aptRetries)
}
