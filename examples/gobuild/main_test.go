package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
)

// Bad input fails before any daemon is contacted, as a usage error (exit
// code 2) that names the input.
func TestBadFlagsAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "mod") // a module whose ./empty has no Go files
	if err := os.MkdirAll(filepath.Join(mod, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/mod\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--platform", "linux/foo"}, `--platform: "linux/foo": unsupported platform`},
		{[]string{"--platform", ""}, "--platform"},
		{[]string{"--platform", "linux/arm,linux/arm/v7"}, "linux/arm"},
		{[]string{"--output", "type=zip,dest=x"}, `unknown type "zip"`},
		{[]string{"--output", "type=oci,dest=/no/such/dir/x.tar"}, "/no/such/dir does not exist"},
		{[]string{"--label", "novalue"}, `--label "novalue": want key=value`},
		{[]string{"--annotation", "index:"}, "--annotation"},
		{[]string{"--context", filepath.Join(dir, "missing")}, "--context"},
		{[]string{"--context", dir}, "no go.mod"},
		{[]string{"--package", "../escape"}, "--package"},
		{[]string{"--package", "./cmd/nope"}, "--package ./cmd/nope: there is no directory ./cmd/nope in the module at"},
		{[]string{"--context", mod, "--package", "./empty"}, "--package ./empty: ./empty in the module at " + mod + " has no .go files"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--platform", "linux/amd64,windows/amd64"}, "--platform: windows/amd64 with the scratch runtime image: a Windows image needs a Windows runtime base"},
		{[]string{"--emulation", "sometimes"}, `--emulation "sometimes"`},
		{[]string{"--source-date-epoch", "yesterday"}, "--source-date-epoch"},
		{[]string{"--cache-to", "type=gha"}, `--cache-to: cache "type=gha": unknown type`},
		{[]string{"--attest", "type=sbom,generator="}, "empty generator"},
		{[]string{"--attest", "type=vex"}, `unknown type "vex"`},
		{[]string{"--attest", "type=provenance,mode=all"}, `mode="all"`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--secret", "src=" + filepath.Join(dir, "missing")}, "--secret"},
		{[]string{"--secret", "id=netrc,src=" + filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"--secret", "id=t,env=CROSSLLB_TEST_UNSET_VARIABLE"}, "is not set"},
		{[]string{"--secret", "id=t,env=PATH", "--secret", "id=t,env=HOME"}, `id "t" given twice`},
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

func TestHelp(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--help"}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-platform string") {
		t.Errorf("--help: %v\n%s", err, stderr.String())
	}
}

func TestAnnotationPrefixes(t *testing.T) {
	c, err := parseFlags([]string{"--annotation", "index:a=1", "--annotation", "manifest:b=2", "--annotation", "c=3"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.IndexAnnotations["a"] != "1" || c.IndexAnnotations["c"] != "3" || c.IndexAnnotations["b"] != "" {
		t.Errorf("index annotations = %v", c.IndexAnnotations)
	}
	if c.ManifestAnnotations["b"] != "2" || c.ManifestAnnotations["c"] != "3" || c.ManifestAnnotations["a"] != "" {
		t.Errorf("manifest annotations = %v", c.ManifestAnnotations)
	}
	if paths, err := c.recipe.BinaryPaths(); len(c.Targets) != 3 || c.recipe.Context == "" || err != nil || len(paths) != 1 || paths[0] != "/usr/local/bin/hello" {
		t.Errorf("defaults: targets %v, recipe %+v", c.Targets, c.recipe)
	}
}
