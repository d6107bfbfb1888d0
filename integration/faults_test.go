package integration

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// Cancelling the context during a long step returns context.Canceled
// promptly, writes nothing, and the daemon builds again right after.
func TestCancelDuringLongStep(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	sleepy := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		st := bk.Image("debian:bookworm-slim", bk.Platform(t.Platform)).
			Run(bk.Args([]string{"sleep", "600"}), bk.IgnoreCache, bk.Platform(t.Platform)).Root()
		return st, ocispec.Image{}, nil
	}
	dest := filepath.Join(t.TempDir(), "never.tar")
	bctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(8 * time.Second); cancel() }()
	start := time.Now()
	_, err := c.Build(bctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, sleepy, solver.WithOutput(solver.OCITar(dest)))
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build after cancel = %v, want context.Canceled", err)
	}
	if took > 30*time.Second {
		t.Errorf("Build returned %v after start (cancelled at 8s): not prompt", took)
	}
	expectRecordInUse("exec sleep 600", "buildkitd v0.33.1 keeps the mounts of a step whose gateway solve was cancelled in use until it restarts (TestCancelDuringLongStep cancels one on purpose)")
	noLeftovers(t, filepath.Dir(dest))

	quick := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Scratch().File(bk.Mkfile("/ok", 0o644, []byte("ok"))), ocispec.Image{}, nil
	}
	if _, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, quick, solver.WithOutput(solver.OCITar(dest))); err != nil {
		t.Fatalf("the next build after a cancel: %v", err)
	}
}

// A definition larger than gRPC's message limit fails with a clear error
// naming the limit, not a hang.
func TestDefinitionLargerThanMessageLimit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 3*time.Minute)
	c := connect(t, ctx)
	huge := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		data := make([]byte, 40<<20)
		return bk.Scratch().File(bk.Mkfile("/huge", 0o644, data)), ocispec.Image{}, nil
	}
	start := time.Now()
	_, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, huge)
	if err == nil {
		t.Fatal("a 40 MiB definition was accepted")
	}
	if time.Since(start) > time.Minute {
		t.Errorf("took %v to fail", time.Since(start))
	}
	if !strings.Contains(err.Error(), "building linux/amd64: the LLB definition is 40.0 MiB, more than the 16 MiB") {
		t.Errorf("error %q does not say the definition is too large", err)
	}
}

// buildkitd killed during a foreign-arch step: the build fails within
// seconds, nothing is written, and a daemon restarted on the same root
// builds again.
// Not parallel: it unsets BUILDKIT_HOST to make Connect start a daemon.
func TestDaemonKilledMidBuild(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	cfg := daemonConfig(t)
	root := filepath.Join(t.TempDir(), "root")
	// Registered after TempDir's own cleanup, so it runs before it.
	t.Cleanup(func() { reapRoot(t, root) })
	t.Setenv("BUILDKIT_HOST", "")
	embedded := solver.WithEmbedded(solver.EmbeddedConfig{Config: cfg, Root: root})
	c, err := solver.Connect(ctx, "", embedded)
	if err != nil {
		t.Fatal(err)
	}
	sleepy := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Image("debian:bookworm-slim", bk.Platform(t.Platform)).
			Run(bk.Args([]string{"sleep", "600"}), bk.IgnoreCache, bk.Platform(t.Platform)).Root(), ocispec.Image{}, nil
	}
	dest := filepath.Join(t.TempDir(), "never.tar")
	go func() {
		time.Sleep(6 * time.Second)
		// The daemon is the buildkitd whose --root is ours.
		out, _ := exec.Command("pkill", "-KILL", "-f", "buildkitd --root "+root).CombinedOutput()
		t.Logf("pkill: %s", out)
	}()
	start := time.Now()
	_, err = c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/arm64")}, sleepy, solver.WithOutput(solver.OCITar(dest)))
	if err == nil {
		t.Fatal("the build survived its daemon")
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Errorf("the build failed %v after start (daemon killed at 6s)", d)
	}
	c.Close()
	noLeftovers(t, filepath.Dir(dest))

	c, err = solver.Connect(ctx, "", embedded)
	if err != nil {
		t.Fatalf("restarting buildkitd on the same root: %v", err)
	}
	defer c.Close()
	quick := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Image("debian:bookworm-slim", bk.Platform(t.Platform)).File(bk.Mkfile("/ok", 0o644, []byte("ok"))), ocispec.Image{}, nil
	}
	if _, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/arm64")}, quick, solver.WithOutput(solver.OCITar(dest))); err != nil {
		t.Fatalf("building on the restarted daemon: %v", err)
	}
}

// reapRoot undoes what a SIGKILLed buildkitd leaves under root: its runc
// containers keep running (their processes' root is under root) and their
// overlay mounts stay. That is buildkitd's behaviour, not ours; the test
// cleans up after the kill it caused.
func reapRoot(t *testing.T, root string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/root")
	for _, p := range procs {
		if dst, err := os.Readlink(p); err == nil && strings.HasPrefix(dst, root+"/") {
			pid := filepath.Base(filepath.Dir(p))
			t.Logf("killing the orphaned container process %s (root %s)", pid, dst)
			_ = exec.Command("kill", "-9", pid).Run()
		}
	}
	time.Sleep(500 * time.Millisecond)
	dt, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	lines := strings.Split(string(dt), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) > 4 && strings.HasPrefix(f[4], root+"/") {
			_ = exec.Command("umount", "-l", f[4]).Run()
		}
	}
}

// A push to a registry that is not there fails with an error naming the
// host, and the OCI tar asked for in the same build is not half-written.
func TestPushToRegistryThatIsDown(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Minute)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close() // nothing listens there now
	dir := t.TempDir()
	start := time.Now()
	_, errOut, err := gobuild(t, ctx, "--platform", "linux/amd64,linux/arm64",
		"--output", "type=image,name="+down+"/crossllb-test/hello:down,push=true,registry.insecure=true",
		"--output", "type=oci,dest="+filepath.Join(dir, "hello.tar"))
	if err == nil {
		t.Fatal("a push to a closed port succeeded")
	}
	if !strings.Contains(errOut, down) {
		t.Errorf("the error does not name %s:\n%s", down, lastLines(errOut, 10))
	}
	if d := time.Since(start); d > 5*time.Minute {
		t.Errorf("took %v to give up", d)
	}
	noLeftovers(t, dir)
}
