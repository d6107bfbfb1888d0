package llb

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// DefaultServiceID is the uid and gid of a [SystemUser] that sets none:
// high enough to collide with no user of a base image or of the host (the
// Trow project's choice).
const DefaultServiceID = 333333

// SystemUser is the account a service image runs as: a system user and
// group, made by [WithSystemUser] in the runtime stage, that owns the
// service's directories; set the image's USER with [SystemUser.ConfigUser].
type SystemUser struct {
	// Name names the user and its group ("trow").
	Name string
	// UID and GID default to DefaultServiceID when zero: a service user
	// is never root.
	UID, GID int
	// Dirs are absolute directories created (with parents) and owned by
	// the user ("/data/layers").
	Dirs []string
}

func (u SystemUser) ids() (uid, gid int) {
	uid, gid = u.UID, u.GID
	if uid == 0 {
		uid = DefaultServiceID
	}
	if gid == 0 {
		gid = DefaultServiceID
	}
	return uid, gid
}

// ConfigUser is the image config's User for u: "<uid>:<gid>", numeric, so
// that runtimes that check for a non-root user (Kubernetes runAsNonRoot)
// can tell without reading /etc/passwd.
func (u SystemUser) ConfigUser() string {
	uid, gid := u.ids()
	return strconv.Itoa(uid) + ":" + strconv.Itoa(gid)
}

func (u SystemUser) validate() error {
	uid, gid := u.ids()
	switch {
	case u.Name == "" || len(u.Name) > 32 || u.Name[0] == '-' || !onlyChars(u.Name, "_-") || ('0' <= u.Name[0] && u.Name[0] <= '9'):
		return fmt.Errorf("WithSystemUser: name %q: want a user name of letters, digits, '_' and '-', not starting with a digit or '-'", u.Name)
	case uid < 0 || gid < 0 || uid > 1<<31-2 || gid > 1<<31-2:
		return fmt.Errorf("WithSystemUser(%q): uid:gid %d:%d out of range", u.Name, u.UID, u.GID)
	}
	for _, d := range u.Dirs {
		if !path.IsAbs(d) || path.Clean(d) == "/" || !onlyChars(strings.ReplaceAll(d, "/", ""), "_-.+@") {
			return fmt.Errorf("WithSystemUser(%q): directory %q: want an absolute path other than / of letters, digits and \"_-.+@\"", u.Name, d)
		}
	}
	return nil
}

// script is the shell script that makes the group, the user and the
// directories: one step, run under the target platform.
func (u SystemUser) script() string {
	uid, gid := u.ids()
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\ngroupadd --system -K SYS_GID_MIN=%d -K SYS_GID_MAX=%d --gid %d %s\n", gid, gid, gid, u.Name)
	fmt.Fprintf(&b, "useradd --system -K SYS_UID_MIN=%d -K SYS_UID_MAX=%d --no-log-init --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid %d --gid %d %s\n", uid, uid, uid, gid, u.Name)
	if dirs := u.cleanDirs(); len(dirs) > 0 {
		fmt.Fprintf(&b, "mkdir -p %s\nchown %d:%d %s\n", strings.Join(dirs, " "), uid, gid, strings.Join(dirs, " "))
	}
	return b.String()
}

// cleanDirs is u.Dirs cleaned, in a new slice.
func (u SystemUser) cleanDirs() []string {
	dirs := make([]string, len(u.Dirs))
	for i, d := range u.Dirs {
		dirs[i] = path.Clean(d)
	}
	return dirs
}

// WithSystemUser adds a runtime step that creates u's group and user
// (groupadd/useradd --system, no home, no login shell) and u.Dirs owned by
// them. With [WithBuildTools] it runs on the build platform and edits the
// target's account files (useradd --prefix): nothing is emulated. Without
// it, or inside [Emulated], it runs on the target platform, emulated when
// foreign. The base image needs Debian's passwd files (debian and ubuntu
// images have them; without WithBuildTools, also a shell and the passwd
// tools). The image's USER is not a filesystem change: set ImageSpec.User
// to u.ConfigUser().
func WithSystemUser(u SystemUser) RuntimeOption {
	return func(o *runtimeOptions) error {
		if err := u.validate(); err != nil {
			return err
		}
		uid, gid := u.ids()
		name := fmt.Sprintf("add user %s %d:%d", u.Name, uid, gid)
		if len(u.Dirs) > 0 {
			name += ", dirs " + strings.Join(u.Dirs, " ")
		}
		o.steps = append(o.steps, runtimeStep{
			args:   []string{"/bin/sh", "-c", u.script()},
			name:   name,
			native: func(string) string { return u.nativeUserScript() },
		})
		return nil
	}
}

// WithAptInstall adds a runtime step that installs Debian packages for the
// target (ca-certificates, libssl3...) with apt, retried on failure,
// leaving no package lists in the image. With [WithBuildTools] it runs on
// the build platform: apt resolves for the target's architecture against
// the target's sources and dpkg database, and dpkg installs into the
// target root with --force-script-chrootless (see WithBuildTools for the
// maintainer scripts). Without it, or inside [Emulated], it is apt-get
// install on the target platform, emulated when foreign.
func WithAptInstall(pkgs ...string) RuntimeOption {
	return func(o *runtimeOptions) error {
		if len(pkgs) == 0 {
			return fmt.Errorf("WithAptInstall(): no packages")
		}
		if err := checkDebianNames("WithAptInstall", pkgs); err != nil {
			return err
		}
		sorted := slices.Clone(pkgs)
		slices.Sort(sorted)
		sorted = slices.Compact(sorted)
		o.steps = append(o.steps, runtimeStep{
			args: []string{"/bin/sh", "-c", aptScript(nil, sorted)},
			name: "apt-get install " + strings.Join(sorted, " "),
			env:  []string{"DEBIAN_FRONTEND=noninteractive"},
			native: func(arch string) string {
				return nativeAptScript(arch, sorted)
			},
			aptTools: true,
		})
		return nil
	}
}
