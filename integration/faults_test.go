package integration

import (
	"context"
	"errors"
	"path/filepath"
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
