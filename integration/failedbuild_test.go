package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// One target fails at once while the other's step still runs: the build
// fails, and the daemon keeps none of this build's cache records in use
// afterwards. (Cancelling the running target's solve, as a fail-fast
// errgroup would, left its mount in use on buildkitd v0.33.1 for good.)
func TestFailedTargetLeavesNoRecordInUse(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	nonce := "crossllb-failed-target-" + randomHex(t, 8)
	targets, err := platforms.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	fn := func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		script := "exit 3"
		if tg.Platform.Architecture == "arm64" {
			script = "sleep 4"
		}
		return bk.Image("debian:bookworm-slim", bk.Platform(tg.BuildPlatform)).
			Run(bk.Args([]string{"sh", "-c", script, nonce}), bk.Platform(tg.BuildPlatform)).Root(), ocispec.Image{}, nil
	}
	start := time.Now()
	_, err = c.Build(ctx, targets, fn)
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "exit code: 3") {
		t.Fatalf("build = %v, want the amd64 step's exit code 3", err)
	}
	var inUse []string
	for range 10 { // a finished build's references go shortly after it
		du, err := c.BuildKit().DiskUsage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inUse = inUse[:0]
		for _, r := range du {
			if r.InUse && strings.Contains(r.Description, nonce) {
				inUse = append(inUse, fmt.Sprintf("%s (%s)", r.ID, r.Description))
			}
		}
		if len(inUse) == 0 {
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("the failed build left %d cache record(s) in use on the daemon: %v", len(inUse), inUse)
}
