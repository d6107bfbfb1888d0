package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// The environment hack/setup prints. Missing values fail the tests with the
// reason: an integration test that cannot reach its daemon has not passed.
const setupHint = "run the tests with `make test`, or `eval \"$(hack/setup)\"` first"

func buildkitHost(t testing.TB) string {
	t.Helper()
	h := os.Getenv("BUILDKIT_HOST")
	if h == "" {
		t.Fatalf("BUILDKIT_HOST is not set: %s", setupHint)
	}
	return h
}

// daemonConfig is hack/setup's buildkitd.toml (it points docker.io at the
// local registry mirror), for tests that start a buildkitd of their own.
func daemonConfig(t testing.TB) string {
	t.Helper()
	cache := os.Getenv("CROSSLLB_CACHE")
	if cache == "" {
		t.Fatalf("CROSSLLB_CACHE is not set: %s", setupHint)
	}
	cfg := filepath.Join(cache, "buildkitd", "buildkitd.toml")
	if _, err := os.Stat(cfg); err != nil {
		t.Fatalf("hack/setup's buildkitd.toml (for the registry mirror): %v: %s", err, setupHint)
	}
	return cfg
}

func registryAddr(t testing.TB) string {
	t.Helper()
	r := os.Getenv("CROSSLLB_REGISTRY")
	if r == "" {
		t.Fatalf("CROSSLLB_REGISTRY is not set: %s", setupHint)
	}
	return r
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func connect(t testing.TB, ctx context.Context) *solver.Client {
	t.Helper()
	c, err := solver.Connect(ctx, buildkitHost(t))
	if err != nil {
		t.Fatalf("connecting to the buildkitd that hack/setup started: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runOn runs argv in image for platform p (emulated when foreign) as root
// and returns what it printed on stdout.
func runOn(t testing.TB, ctx context.Context, c *solver.Client, image string, p ocispec.Platform, argv ...string) string {
	t.Helper()
	return runAs(t, ctx, c, image, p, "0:0", argv...)
}

var gobuildBin, multinodeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crossllb-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gobuildBin, multinodeBin = filepath.Join(dir, "gobuild"), filepath.Join(dir, "multinode")
	for bin, pkg := range map[string]string{gobuildBin: "../examples/gobuild", multinodeBin: "../examples/multinode"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			os.Exit(1)
		}
	}
	// Every test's temporary directory is under ours, so that the leak
	// check can tell our mounts from other processes'.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", tmp)
	base := takeLeakBaseline(tmp)
	code := m.Run()
	if leaks := base.check(context.Background()); len(leaks) > 0 {
		reportLeaks(os.Stderr, leaks)
		if code == 0 {
			code = 1
		}
	}
	for _, l := range base.mounts() { // do not remove what is under a mount
		_ = exec.Command("umount", "-l", strings.Fields(strings.TrimPrefix(l, "mount left: "))[0]).Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestHarnessRunsForeignPlatforms proves the environment is real: the
// daemon reports foreign platforms, and a step in debian:bookworm-slim (from
// the local mirror) runs natively for amd64 and under QEMU for arm64 and
// arm/v7.
func TestHarnessRunsForeignPlatforms(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	ws, err := c.Workers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, w := range ws {
		for _, p := range w.Platforms {
			have[platforms.Format(p)] = true
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		if !have[want] {
			t.Fatalf("buildkitd's workers do not offer %s (they offer %v): are QEMU's binfmt_misc handlers registered? hack/setup does it", want, have)
		}
	}
	for _, tc := range []struct{ platform, want string }{
		{"linux/amd64", "x86_64"},
		{"linux/arm64", "aarch64"},
		{"linux/arm/v7", "armv7l"},
	} {
		t.Run(strings.ReplaceAll(tc.platform, "/", "_"), func(t *testing.T) {
			t.Parallel()
			got := runOn(t, ctx, c, "debian:bookworm-slim", platforms.MustParse(tc.platform), "uname", "-m")
			if got != tc.want {
				t.Fatalf("uname -m on %s = %q, want %q", tc.platform, got, tc.want)
			}
		})
	}
}
