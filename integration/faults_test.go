package integration

import (
	"context"
	"errors"
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
