package main

// The programs the contenders run: crossllb's example builders (built from
// this checkout), buildkitd and buildctl (hack/setup's), and ko (built from
// the module proxy, cached by version).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

type tools struct {
	gobuild, cargo      string // crossllb's presets
	buildkitd, buildctl string
	ko                  string
	buildkitVersion     string
	// commit is the crossllb checkout the presets were built from.
	commit string
	// baselineCargo and baselineGobuild are the presets of --baseline, an
	// earlier checkout measured in the same run ("" without it).
	baselineGobuild, baselineCargo, baselineCommit string
}

func prepareTools(ctx context.Context, c *config, stderr io.Writer) (*tools, error) {
	bin := filepath.Join(c.cache, "bench", "bin")
	bkBin := filepath.Join(c.cache, "buildkit-"+buildkitVersion(c.repo), "bin")
	t := &tools{
		gobuild:   filepath.Join(bin, "crossllb-gobuild"),
		cargo:     filepath.Join(bin, "crossllb-cargo"),
		buildkitd: filepath.Join(bkBin, "buildkitd"),
		buildctl:  filepath.Join(bkBin, "buildctl"),
		ko:        filepath.Join(bin, "ko-"+c.koVersion, "ko"),
	}
	for _, p := range []string{t.buildkitd, t.buildctl} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w: run `make setup` first", p, err)
		}
	}
	var err error
	if t.commit, err = buildPresets(ctx, c.repo, bin, stderr); err != nil {
		return nil, err
	}
	if c.baseline != "" {
		dir := filepath.Join(bin, "baseline")
		if t.baselineCommit, err = buildPresets(ctx, c.baseline, dir, stderr); err != nil {
			return nil, fmt.Errorf("--baseline: %w", err)
		}
		t.baselineGobuild, t.baselineCargo = filepath.Join(dir, "crossllb-gobuild"), filepath.Join(dir, "crossllb-cargo")
	}
	if _, err := os.Stat(t.ko); err != nil {
		fmt.Fprintf(stderr, "bench: go install github.com/google/ko@%s\n", c.koVersion)
		dir := filepath.Dir(t.ko)
		tmp := dir + ".tmp"
		os.RemoveAll(tmp)
		inst := exec.CommandContext(ctx, "go", "install", "github.com/google/ko@"+c.koVersion)
		inst.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod")
		inst.Dir, inst.Stdout, inst.Stderr = os.TempDir(), stderr, stderr
		if err := inst.Run(); err != nil {
			return nil, fmt.Errorf("go install github.com/google/ko@%s: %w (the Go module proxy must be reachable)", c.koVersion, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, err
		}
	}
	// hack/setup builds buildkitd from the module cache, without the
	// version stamp: name the version go.mod pins, which it was built at.
	t.buildkitVersion = "BuildKit " + buildkitVersion(c.repo) + " (buildkitd and buildctl built by hack/setup; runc worker)"
	return t, nil
}

// buildPresets builds the gobuild and cargo presets of the crossllb
// checkout repo as bin/crossllb-gobuild and bin/crossllb-cargo, and names
// the checkout.
func buildPresets(ctx context.Context, repo, bin string, stderr io.Writer) (string, error) {
	commit := gitDescribe(ctx, repo)
	fmt.Fprintf(stderr, "bench: building crossllb's gobuild and cargo from %s at %s\n", repo, commit)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./examples/gobuild", "./examples/cargo")
	build.Dir, build.Stdout, build.Stderr = repo, stderr, stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build ./examples/gobuild ./examples/cargo in %s: %w", repo, err)
	}
	for _, name := range []string{"gobuild", "cargo"} {
		if err := os.Rename(filepath.Join(bin, name), filepath.Join(bin, "crossllb-"+name)); err != nil {
			return "", err
		}
	}
	return commit, nil
}

// buildkitVersion is the BuildKit version go.mod pins, as hack/lib.sh reads it.
func buildkitVersion(repo string) string {
	dt, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(dt), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/moby/buildkit" {
			return f[1]
		}
	}
	return "unknown"
}

// versions names every program that took part, for the report.
func (t *tools) versions(ctx context.Context, c *config) map[string]string {
	first := func(name string, args ...string) string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			return "unknown (" + err.Error() + ")"
		}
		line, _, _ := strings.Cut(string(bytes.TrimSpace(out)), "\n")
		return line
	}
	commit := t.commit + " (the presets)"
	if now := gitDescribe(ctx, c.repo); now != t.commit {
		// The overhead benchmark runs from the checkout at the end.
		commit += "; " + now + " by the end of the run (the library overhead)"
	}
	vs := map[string]string{
		"go (host, ko)":    first("go", "version"),
		"go (images)":      "golang:1.26-bookworm from hack/setup (Go 1.26.8)",
		"buildkitd":        t.buildkitVersion,
		"ko":               first(t.ko, "version"),
		"crossllb":         commit,
		"crane (workload)": "github.com/google/go-containerregistry " + c.craneVersion + " ./cmd/crane, vendored",
		"rust (workload)":  "examples/cargo/testdata/hello and bench/testdata/rust-service with Debian bookworm's rustc and cargo",
	}
	if t.baselineCommit != "" {
		vs[crossllbBase] = t.baselineCommit + " (the presets of --baseline " + c.baseline + ")"
	}
	return vs
}

// gitDescribe names the checkout in repo: its commit, "-dirty" with
// uncommitted changes.
func gitDescribe(ctx context.Context, repo string) string {
	rev := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	rev.Dir = repo
	out, err := rev.Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}
