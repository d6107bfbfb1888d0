package solver

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestVersionAtLeast(t *testing.T) {
	const addr = "unix:///run/buildkit/buildkitd.sock"
	for _, tc := range []struct {
		found, min string
		ok         bool
	}{
		{"v0.31.2", "v0.31.2", true},
		{"v0.33.1", "v0.31.2", true},
		{"0.33.1", "v0.31.2", true}, // no leading v
		{"v1.0.0", "v0.31.2", true},
		{"v0.31.3-rc1", "v0.31.2", true},
		{"v0.31.1", "v0.31.2", false},
		{"v0.12.5", "v0.31.2", false},
		{"v0.31.2-rc1", "v0.31.2", false}, // a pre-release of the fix is older than the fix
		{"v0.30.9+dirty", "v0.31.2", false},
		{"v0.33.1", "v99.0.0", false},
		{"v0.12.5", "", true}, // the check is off
		// Untagged builds: their version cannot be known; accepted.
		{"v0.0.0+unknown", "v0.31.2", true},
		{"v0.0.0-dev", "v0.31.2", true},
		{"", "v0.31.2", true},
		{"v0.0.0+unknown", "v99.0.0", true},
		// Not a version at all: refused, not guessed at.
		{"master", "v0.31.2", false},
		{"v0.31", "v0.31.2", false},
	} {
		err := versionAtLeast(addr, tc.found, tc.min)
		if (err == nil) != tc.ok {
			t.Errorf("versionAtLeast(%q, %q) = %v, want ok=%v", tc.found, tc.min, err, tc.ok)
			continue
		}
		if err == nil {
			continue
		}
		var ve *DaemonVersionError
		if !errors.As(err, &ve) || ve.Found != tc.found || ve.Min != tc.min {
			t.Errorf("versionAtLeast(%q, %q) = %#v, want a *DaemonVersionError with both versions", tc.found, tc.min, err)
		}
		for _, want := range []string{addr, tc.found, tc.min, "solver.WithMinDaemonVersion"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
}

func TestWithMinDaemonVersionValidates(t *testing.T) {
	for _, bad := range []string{"0.31", "latest", "v0.31.2.1"} {
		_, err := Connect(context.Background(), "unix:///unused", WithMinDaemonVersion(bad))
		if err == nil || !strings.Contains(err.Error(), "minimum buildkitd version "+`"`+bad+`"`) {
			t.Errorf("WithMinDaemonVersion(%q) = %v, want an error naming it", bad, err)
		}
	}
	var o connectOptions
	for _, good := range []string{"", "v0.31.2", "0.31.2", "v1.0.0-rc1"} {
		if err := WithMinDaemonVersion(good)(&o); err != nil {
			t.Errorf("WithMinDaemonVersion(%q): %v", good, err)
		}
	}
}
