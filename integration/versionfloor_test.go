package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// stampedBuildkitd links the go.mod's buildkitd with BuildKit's release
// stamp, so that it reports its version (hack/setup's cached binary may
// predate the stamp and report v0.0.0+unknown). Only the link step runs
// when hack/setup has built BuildKit on this machine (about 15 s).
func stampedBuildkitd(t *testing.T, ctx context.Context) (bin, version string) {
	t.Helper()
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/moby/buildkit").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/moby/buildkit: %v", err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	bin = filepath.Join(t.TempDir(), "buildkitd")
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X github.com/moby/buildkit/version.Version="+version, "-o", bin, "./cmd/buildkitd")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a stamped buildkitd: %v\n%s", err, out)
	}
	return bin, version
}

// The real daemon passes the default minimum (v0.31.2); a minimum above it
// fails, naming the version found and the minimum.
// Not parallel: it unsets BUILDKIT_HOST to make Connect start a daemon.
func TestDaemonVersionFloor(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	shared := connect(t, ctx)
	t.Logf("the shared buildkitd reports %q", shared.DaemonVersion())

	bin, version := stampedBuildkitd(t, ctx)
	t.Setenv("BUILDKIT_HOST", "")
	c, err := solver.Connect(ctx, "", solver.WithEmbedded(solver.EmbeddedConfig{Binary: bin}))
	if err != nil {
		t.Fatalf("Connect to a %s buildkitd with the default minimum %s: %v", version, solver.MinDaemonVersion, err)
	}
	defer c.Close()
	if c.DaemonVersion() != version {
		t.Fatalf("DaemonVersion() = %q, want %q", c.DaemonVersion(), version)
	}

	_, err = solver.Connect(ctx, c.Address(), solver.WithMinDaemonVersion("v99.0.0"))
	var ve *solver.DaemonVersionError
	if !errors.As(err, &ve) {
		t.Fatalf("Connect with minimum v99.0.0 to a %s daemon = %v, want a *solver.DaemonVersionError", version, err)
	}
	for _, want := range []string{c.Address(), "is " + version, "older than the minimum v99.0.0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A fleet checks every node, also a unix:// node beside TLS options
	// meant for its tcp:// nodes.
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("unused"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fleet, err := solver.ConnectFleet(ctx, []string{c.Address()}, solver.WithMinDaemonVersion("v99.0.0"),
		solver.WithTLS(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), ""))
	if err == nil {
		fleet.Close()
	}
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "older than the minimum v99.0.0") {
		t.Errorf("ConnectFleet with minimum v99.0.0 and TLS options to a unix:// %s node = %v, want a *solver.DaemonVersionError", version, err)
	}
	off, err := solver.Connect(ctx, c.Address(), solver.WithMinDaemonVersion(""))
	if err != nil {
		t.Fatalf("Connect with the check off: %v", err)
	}
	off.Close()
}

// A build grants its steps no entitlement: a step that asks for the host's
// network or for privileges is refused by the daemon. And only the locals
// the caller passed are shared: a graph that names another one fails.
func TestBuildGrantsNoEntitlementsAndOnlyGivenLocals(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	amd64 := []ocispec.Platform{platforms.MustParse("linux/amd64")}
	for _, tc := range []struct {
		name string
		opt  bk.RunOption
		want string
	}{
		{"network.host", bk.Network(pb.NetMode_HOST), "network.host is not allowed"},
		{"security.insecure", bk.Security(pb.SecurityMode_INSECURE), "security.insecure is not allowed"},
	} {
		fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
			return bk.Image("debian:bookworm-slim", bk.Platform(t.Platform)).
				Run(bk.Args([]string{"true"}), tc.opt, bk.IgnoreCache, bk.Platform(t.Platform)).Root(), ocispec.Image{}, nil
		}
		_, err := c.Build(ctx, amd64, fn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("a step asking for %s: %v, want the daemon to refuse it (%q)", tc.name, err, tc.want)
		}
	}

	given, other := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "private"), []byte("not shared"), 0o600); err != nil {
		t.Fatal(err)
	}
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Scratch().
			File(bk.Copy(bk.Local("context"), "/", "/ctx/", &bk.CopyInfo{CopyDirContentsOnly: true, AllowEmptyWildcard: true})).
			File(bk.Copy(bk.Local("other"), "/", "/other/", &bk.CopyInfo{CopyDirContentsOnly: true})), ocispec.Image{}, nil
	}
	_, err := c.Build(ctx, amd64, fn, solver.WithLocal("context", given))
	if err == nil {
		t.Fatal("a graph naming a local the caller did not pass was built")
	}
	if !strings.Contains(err.Error(), "other") {
		t.Errorf("the error does not name the missing local \"other\": %v", err)
	}
	t.Logf("naming a local that was not passed: %v", err)
}
