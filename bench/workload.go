package main

// The source trees the contenders build: crane (go-containerregistry's
// cmd/crane, from the Go module proxy, vendored, cached by version under
// $CROSSLLB_CACHE/bench/src), the hello crate of examples/cargo and the
// bench's Rust service, bench/testdata/rust-service (both copied fresh). Neither is committed; the one-file change edits a copy, so that
// the binary changes.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type workload struct {
	name  string // "go", "rust" or "rust-service": the Dockerfiles are bench/Dockerfile.<name>-*
	lang  string // "go" or "rust"
	title string
	dir   string // the build context
	// crossllb is the preset's arguments for this workload (the binary,
	// packages), before the bench's common ones; buildArgs are the
	// Dockerfile contenders' build-arg:K=V options.
	crossllb  []string
	buildArgs []string
	// edit is the file, relative to dir, that the one-file change edits;
	// pristine is its original content; mutate returns the edited content
	// for a nonce.
	edit     string
	pristine []byte
	mutate   func(pristine []byte, nonce string) ([]byte, error)
	// emulable says whether the emulated contender can build for a
	// target, and if not, why.
	emulable func(target string) (bool, string)
	// buildImage and runtimeImage are the images every BuildKit
	// contender starts from (the compile stage's, on the build platform,
	// and the runtime stage's, per target): what the pulled scenario
	// pulls before it builds. Empty: the workload has no pulled scenario.
	buildImage, runtimeImage string
}

func prepareWorkload(ctx context.Context, c *config, name string, stderr io.Writer) (*workload, error) {
	switch name {
	case "go":
		return prepareCrane(ctx, c, stderr)
	case "rust":
		return prepareHello(c)
	case "rust-service":
		return prepareService(c)
	}
	return nil, fmt.Errorf("unknown workload %q", name)
}

// prepareCrane fetches go-containerregistry at c.craneVersion through the
// module proxy and vendors its dependencies, once per version.
func prepareCrane(ctx context.Context, c *config, stderr io.Writer) (*workload, error) {
	const module = "github.com/google/go-containerregistry"
	w := &workload{
		name:      "go",
		lang:      "go",
		crossllb:  []string{"--package", "./cmd/crane", "--runtime-image", "debian:bookworm-slim"},
		buildArgs: []string{"PACKAGE=./cmd/crane", "BIN=crane"},
		title:     "crane " + c.craneVersion + " (Go)",
		dir:       filepath.Join(c.cache, "bench", "src", "go-containerregistry@"+c.craneVersion),
		edit:      "cmd/crane/cmd/root.go",
		mutate:    goChange, // root.go imports os
		// As bench/Dockerfile.go-cross and examples/gobuild's defaults.
		buildImage:   "golang:1.26-bookworm",
		runtimeImage: "debian:bookworm-slim",
		emulable: func(target string) (bool, string) {
			if target == "linux/amd64" || target == "linux/arm64" {
				return true, ""
			}
			// The module proxy reachable here answers 403 for every
			// golang.org/toolchain zip but linux-amd64 and linux-arm64
			// (checked for go1.25.0 to go1.26.8: linux-armv6l, 386,
			// ppc64le), so hack/setup cannot seed another platform.
			return false, "golang:1.26-bookworm in the local registry has no " + target + " image: hack/setup seeds linux/amd64 and linux/arm64 only, the Go toolchains the module proxy serves here"
		},
	}
	dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+c.craneVersion)
	dl.Dir, dl.Stderr = os.TempDir(), stderr
	dl.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := dl.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %w (the Go module proxy must be reachable)", module, c.craneVersion, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return nil, fmt.Errorf("go mod download %s@%s: no module directory in %q", module, c.craneVersion, out)
	}
	if w.pristine, err = os.ReadFile(filepath.Join(mod.Dir, w.edit)); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(w.dir, "vendor", "modules.txt")); err != nil {
		fmt.Fprintf(stderr, "bench: vendoring %s@%s into %s\n", module, c.craneVersion, w.dir)
		tmp := w.dir + ".tmp"
		os.RemoveAll(tmp)
		if err := copyTree(mod.Dir, tmp); err != nil {
			return nil, err
		}
		vendor := exec.CommandContext(ctx, "go", "mod", "vendor")
		vendor.Dir, vendor.Stdout, vendor.Stderr = tmp, stderr, stderr
		vendor.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		if err := vendor.Run(); err != nil {
			return nil, fmt.Errorf("go mod vendor in %s: %w", tmp, err)
		}
		os.RemoveAll(w.dir)
		if err := os.Rename(tmp, w.dir); err != nil {
			return nil, err
		}
	}
	// An earlier bench may have been killed mid-edit.
	return w, w.restore()
}

// prepareHello copies examples/cargo's hello crate to a fresh directory.
func prepareHello(c *config) (*workload, error) {
	w := &workload{
		name:      "rust",
		lang:      "rust",
		crossllb:  []string{"--bin", "hello"},
		buildArgs: []string{"BIN=hello"},
		title:     "examples/cargo hello (Rust)",
		dir:       filepath.Join(c.cache, "bench", "src", "rust-hello"),
		edit:      "src/main.rs",
		emulable:  func(string) (bool, string) { return true, "" },
		mutate:    rustChange,
	}
	return w, w.copyFrom(filepath.Join(c.repo, "examples", "cargo", "testdata", "hello"))
}

// serviceCrates are the Debian packages that hold the Rust service's
// dependency sources (its .cargo/config.toml points cargo at
// /usr/share/cargo/registry), installed for the build platform; the
// Dockerfiles install the same list (tested).
var serviceCrates = []string{
	"librust-base64-dev", "librust-clap-dev", "librust-env-logger-dev", "librust-hex-dev",
	"librust-hyper-dev", "librust-log-dev", "librust-openssl-dev", "librust-regex-dev",
	"librust-ring-dev", "librust-rustls-dev", "librust-serde-derive-dev", "librust-serde-dev",
	"librust-serde-json-dev", "librust-tokio-dev", "pkg-config",
}

// prepareService copies bench/testdata/rust-service to a fresh directory:
// an HTTP service of 60+ crates, built offline from Debian's crate
// sources, with C and assembly (ring) and the target's libssl (openssl).
func prepareService(c *config) (*workload, error) {
	w := &workload{
		name: "rust-service",
		lang: "rust",
		crossllb: []string{"--bin", "service", "--offline",
			"--build-packages", strings.Join(serviceCrates, ","),
			"--target-packages", "libssl-dev",
			"--apt-packages", "ca-certificates,libssl3"},
		buildArgs: []string{"BIN=service"},
		title:     "bench/testdata/rust-service (Rust, 60+ crates)",
		dir:       filepath.Join(c.cache, "bench", "src", "rust-service"),
		edit:      "src/main.rs",
		emulable:  func(string) (bool, string) { return true, "" },
		mutate:    rustChange,
	}
	return w, w.copyFrom(filepath.Join(c.repo, "bench", "testdata", "rust-service"))
}

// copyFrom makes w.dir a fresh copy of src and keeps the file the
// one-file change edits as it was.
func (w *workload) copyFrom(src string) error {
	os.RemoveAll(w.dir)
	if err := copyTree(src, w.dir); err != nil {
		return err
	}
	var err error
	w.pristine, err = os.ReadFile(filepath.Join(w.dir, w.edit))
	return err
}

// change makes the one-file change: code that reads an environment
// variable whose name differs every time, so that the binary changes, as a
// real change's does, and every step after the compile (the runtime
// layer, its export and push) runs again. A comment leaves rustc's binary
// as it was, and BuildKit's content-keyed cache would skip those steps.
func (w *workload) change() error {
	dt, err := w.mutate(w.pristine, strconv.FormatInt(time.Now().UnixNano(), 10))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.dir, w.edit), dt, 0o644)
}

// restore puts the edited file back as it was.
func (w *workload) restore() error {
	return os.WriteFile(filepath.Join(w.dir, w.edit), w.pristine, 0o644)
}

// copyTree copies regular files, directories and symlinks from src to dst,
// writable (module cache files are read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			dt, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, dt, info.Mode().Perm()|0o200)
		}
		return nil
	})
}

// goChange appends to a Go file that imports os an init function that
// reads an environment variable named after nonce: init functions are
// always linked, so the binary changes.
func goChange(src []byte, nonce string) ([]byte, error) {
	return fmt.Appendf(append([]byte(nil), src...), "\nfunc init() {\n\tif os.Getenv(\"BENCH_CHANGE_%s\") != \"\" {\n\t\tprintln(\"bench\")\n\t}\n}\n", nonce), nil
}

// rustChange adds to the start of a Rust main function a read of an
// environment variable named after nonce.
func rustChange(src []byte, nonce string) ([]byte, error) {
	const at = "fn main() {\n"
	before, after, ok := bytes.Cut(src, []byte(at))
	if !ok {
		return nil, fmt.Errorf("the Rust workload's main.rs has no %q: update the bench's one-file change", at)
	}
	return fmt.Appendf(append(append([]byte(nil), before...), at...), "    if std::env::var_os(\"BENCH_CHANGE_%s\").is_some() {\n        eprintln!(\"bench\");\n    }\n%s", nonce, after), nil
}
