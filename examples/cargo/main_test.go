package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/llb"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
)

// Bad input fails before any daemon is contacted, as a usage error (exit
// code 2) that names the input.
func TestBadFlagsAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--platform", "linux/foo"}, `--platform: "linux/foo": unsupported platform`},
		{[]string{"--platform", "windows/amd64"}, "--platform: windows/amd64 has no Rust target with a Debian cross toolchain"},
		{[]string{"--output", "type=zip,dest=x"}, `unknown type "zip"`},
		{[]string{"--label", "novalue"}, `--label "novalue": want key=value`},
		{[]string{"--context", dir, "--bin", "x"}, "no Cargo.toml"},
		{[]string{"--context", "testdata/hello"}, "--bin"},
		{[]string{"--bin", "../x"}, `binary name "../x"`},
		{[]string{"--user", "app:0"}, "never root"},
		{[]string{"--user", "root; rm"}, "WithSystemUser"},
		{[]string{"--dir", "data"}, `"data"`},
		{[]string{"--musl"}, "--musl needs --rustup"},
		{[]string{"--target-packages", "libssl-dev;x"}, "WithTargetPackages"},
		{[]string{"--build-packages", "a b"}, "WithBuildPackages"},
		{[]string{"--runtime-steps", "qemu"}, `--runtime-steps "qemu": want native or emulated`},
		{[]string{"--apt-packages-emulated", "a b"}, `"a b"`},
		{[]string{"--context", filepath.Join(dir, "missing")}, "--context"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--runtime-image", "scratch", "--apt-packages", "libssl3"}, "--apt-packages with --runtime-image scratch: scratch has no package manager"},
		{[]string{"--runtime-image", "scratch", "--dir", "/data"}, "--dir with --runtime-image scratch"},
		{[]string{"--static=maybe"}, `invalid boolean value "maybe" for -static`},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, &bytes.Buffer{}, &stderr)
		var usage buildflags.UsageError
		if !errors.As(err, &usage) {
			t.Errorf("run(%q) = %v, want a usage error", tc.args, err)
			continue
		}
		if !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("run(%q) = %q, want it to contain %q", tc.args, err, tc.want)
		}
	}
}

func TestParseUser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want llb.SystemUser
	}{
		{"", llb.SystemUser{Name: "hello", UID: 333333, GID: 333333}},
		{"trow", llb.SystemUser{Name: "trow", UID: 333333, GID: 333333}},
		{"trow:1000", llb.SystemUser{Name: "trow", UID: 1000, GID: 1000}},
		{"trow:1000:2000", llb.SystemUser{Name: "trow", UID: 1000, GID: 2000}},
	} {
		got, err := parseUser(tc.in, "hello")
		if err != nil || got.Name != tc.want.Name || got.UID != tc.want.UID || got.GID != tc.want.GID {
			t.Errorf("parseUser(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
