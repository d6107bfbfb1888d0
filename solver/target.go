package solver

import (
	"errors"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// target is one platform of a build, made once from the caller's
// platform by newTargets and passed whole from there to the export: the
// platform normalised, and its ID ("linux/arm/v7"), under which BuildKit
// keys the target's result and the index's manifest.
type target struct {
	platform ocispec.Platform
	id       string
}

// newTargets normalises every platform (an unsupported one is an error
// naming its position) and refuses one given twice.
func newTargets(ps []ocispec.Platform) ([]target, error) {
	if len(ps) == 0 {
		return nil, errors.New("build: no target platforms: give at least one, e.g. linux/amd64")
	}
	ts := make([]target, len(ps))
	seen := map[string]int{}
	for i, p := range ps {
		n, err := platforms.Normalize(p)
		if err != nil {
			return nil, fmt.Errorf("build: target %d: %w", i+1, err)
		}
		ts[i] = target{platform: n, id: platforms.Format(n)}
		if j, dup := seen[ts[i].id]; dup {
			return nil, fmt.Errorf("build: targets %d and %d are both %s: give each platform once", j+1, i+1, ts[i].id)
		}
		seen[ts[i].id] = i
	}
	return ts, nil
}

// targetIDs are the IDs of ts, in order.
func targetIDs(ts []target) []string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.id
	}
	return ids
}

// targetPlatforms are the platforms of ts, in order.
func targetPlatforms(ts []target) []ocispec.Platform {
	ps := make([]ocispec.Platform, len(ts))
	for i, t := range ts {
		ps[i] = t.platform
	}
	return ps
}

// slug is t's ID as a path or tag element: linux-arm-v7.
func (t target) slug() string { return strings.ReplaceAll(t.id, "/", "-") }
