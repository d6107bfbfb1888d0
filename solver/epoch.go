package solver

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// WithSourceDateEpoch makes the export reproducible: BuildKit sets the
// config and history timestamps to t and rewrites the layers' file
// timestamps newer than t (its rewrite-timestamp), so two builds of the same
// source give the same digests. Callers set their image config's Created to
// t as well (llb.ImageSpec.Created).
func WithSourceDateEpoch(t time.Time) BuildOption {
	return func(o *buildOptions) error {
		if t.IsZero() || t.Unix() < 0 {
			return fmt.Errorf("source date epoch %v: want a time after 1970", t)
		}
		o.epoch = &t
		return nil
	}
}

// ParseSourceDateEpoch reads SOURCE_DATE_EPOCH's format: whole seconds
// since 1970, as buildx and BuildKit take it.
func ParseSourceDateEpoch(s string) (time.Time, error) {
	sec, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want whole seconds since 1970, e.g. $(git log -1 --format=%%ct)", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// SourceDateEpochFromGit returns the commit time of HEAD in the git work
// tree at dir: the usual source date epoch.
func SourceDateEpochFromGit(ctx context.Context, dir string) (time.Time, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return time.Time{}, fmt.Errorf("source date epoch from git in %s: %s", dir, strings.TrimSpace(string(ee.Stderr)))
		}
		return time.Time{}, fmt.Errorf("source date epoch from git in %s: %w", dir, err)
	}
	return ParseSourceDateEpoch(string(out))
}
