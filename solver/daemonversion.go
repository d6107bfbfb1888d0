package solver

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/mod/semver"
)

// MinDaemonVersion is the oldest buildkitd that Connect accepts unless told
// otherwise (WithMinDaemonVersion). BuildKit v0.31.2 fixed
// GHSA-hw3h-2gp9-cxpv (CVE-2026-15793: a Git source checked out from a
// bundle could run a crafted command on the daemon's host),
// GHSA-qx3x-mv6r-52p6 (CVE-2026-15792: a frontend's bad parameters could
// panic the daemon) and GHSA-32pv-7hq5-qhwj (CVE-2026-15791: an LLB file
// operation could empty the host's /tmp).
const MinDaemonVersion = "v0.31.2"

// DaemonVersionError is Connect's error for a buildkitd older than the
// minimum, or one whose version cannot be read as a release version.
type DaemonVersionError struct {
	// Addr is the daemon's address.
	Addr string
	// Found is the version the daemon reported (client.Info).
	Found string
	// Min is the minimum that was asked for.
	Min string
}

func (e *DaemonVersionError) Error() string {
	found := e.Found
	if found == "" {
		found = "no version"
	}
	if !releaseVersion(e.Found) {
		return fmt.Sprintf("buildkitd at %s reports version %q, which is not a release version; the minimum is %s: upgrade buildkitd, or pass solver.WithMinDaemonVersion(\"\") to skip this check", e.Addr, found, e.Min)
	}
	why := ""
	if e.Min == MinDaemonVersion {
		why = " (which fixed GHSA-hw3h-2gp9-cxpv and others)"
	}
	return fmt.Sprintf("buildkitd at %s is %s, older than the minimum %s%s: upgrade buildkitd, or pass solver.WithMinDaemonVersion with a lower minimum if you accept the risk", e.Addr, found, e.Min, why)
}

// WithMinDaemonVersion sets the oldest buildkitd version Connect accepts, a
// semantic version such as "v0.31.2" (the default is MinDaemonVersion). An
// empty version turns the check off.
//
// A daemon built from source without BuildKit's release stamp reports
// v0.0.0+unknown (so does any v0.0.0 version): its version cannot be known,
// and Connect accepts it whatever the minimum, since refusing every
// source build would refuse BuildKit's own development builds.
// Client.DaemonVersion tells what the daemon reported.
func WithMinDaemonVersion(version string) ConnectOption {
	return func(o *connectOptions) error {
		if version != "" && !releaseVersion(version) {
			return fmt.Errorf("minimum buildkitd version %q: not a version: want one such as %s", version, MinDaemonVersion)
		}
		o.minVersion = version
		return nil
	}
}

// DaemonVersion is the version the daemon reported when Connect asked
// (BuildKit's client.Info), such as "v0.33.1" or "v0.0.0+unknown".
func (c *Client) DaemonVersion() string { return c.version }

// checkDaemonVersion asks the daemon its version and compares it with
// least.
func (c *Client) checkDaemonVersion(ctx context.Context, least string) error {
	info, err := c.bk.Info(ctx)
	if err != nil {
		return fmt.Errorf("asking buildkitd at %s its version: %w", c.addr, err)
	}
	c.version = info.BuildkitVersion.Version
	return versionAtLeast(c.addr, c.version, least)
}

// versionAtLeast reports whether found is least or newer. found may lack the
// leading v. An untagged build (empty, or v0.0.0 with any suffix) passes,
// see WithMinDaemonVersion; anything else that is not a semantic version
// fails. Pre-releases of least are older than it (v0.31.2-rc1 < v0.31.2).
func versionAtLeast(addr, found, least string) error {
	if least == "" || untaggedVersion(found) {
		return nil
	}
	if !releaseVersion(found) || semver.Compare(canonicalVersion(found), canonicalVersion(least)) < 0 {
		return &DaemonVersionError{Addr: addr, Found: found, Min: least}
	}
	return nil
}

// untaggedVersion reports a version that says it is unknown: what BuildKit
// reports when built without its release ldflags.
func untaggedVersion(v string) bool {
	v = canonicalVersion(v)
	// v0.0.1-0 is the smallest version above v0.0.0 and its pre-releases.
	return v == "" || semver.IsValid(v) && semver.Compare(v, "v0.0.1-0") < 0
}

// releaseVersion reports a whole semantic version, vMAJOR.MINOR.PATCH with
// an optional pre-release and build (semver alone also takes v0.31).
func releaseVersion(v string) bool {
	v = canonicalVersion(v)
	core, _, _ := strings.Cut(v, "+")
	core, _, _ = strings.Cut(core, "-")
	return semver.IsValid(v) && strings.Count(core, ".") == 2
}

func canonicalVersion(v string) string {
	v = strings.TrimSpace(v)
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v
}
