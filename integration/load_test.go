package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// 16 multi-platform builds at once against one daemon, each with its own
// content and output: every index is valid and holds its own build's file,
// nothing crosses over. Reports throughput and the client's heap.
func TestSixteenParallelBuilds(t *testing.T) {
	ctx := testContext(t, 15*time.Minute)
	c := connect(t, ctx)
	targets, err := platforms.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	dir := t.TempDir()
	var peak uint64
	var mu sync.Mutex
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapAlloc)
		mu.Unlock()
	}
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				sample()
			}
		}
	}()
	start := time.Now()
	results := make([]*solver.Result, n)
	eg, ectx := errgroup.WithContext(ctx)
	for i := range n {
		eg.Go(func() error {
			content := fmt.Sprintf("build %d of %s", i, t.Name())
			fn := func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
				gen := bk.Image("debian:bookworm-slim", bk.Platform(tg.Build)).
					Run(bk.Args([]string{"sh", "-c", `printf '%s %s' "$0" "$1" > /out/id`, content, platforms.Format(tg.Platform)}), bk.Platform(tg.Build)).
					AddMount("/out", bk.Scratch())
				return bk.Scratch().File(bk.Copy(gen, "/id", "/id")), ocispec.Image{}, nil
			}
			res, err := c.Build(ectx, targets, fn, solver.WithOutput(solver.OCIDir(filepath.Join(dir, fmt.Sprint(i)))))
			results[i] = res
			return err
		})
	}
	err = eg.Wait()
	close(stop)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d builds of 2 platforms in %v (%.1f builds/s); client peak heap %.1f MiB", n, elapsed, float64(n)/elapsed.Seconds(), float64(peak)/(1<<20))
	for i, res := range results {
		idx := onlyIndex(t, filepath.Join(dir, fmt.Sprint(i)))
		if err := validate.Index(idx); err != nil {
			t.Errorf("build %d: %v", i, err)
			continue
		}
		d, _ := idx.Digest()
		if d.String() != res.Index.Digest.String() {
			t.Errorf("build %d: layout holds index %s, the result says %s", i, d, res.Index.Digest)
		}
		for _, m := range res.Manifests {
			h, err := v1.NewHash(m.Manifest.Digest.String())
			if err != nil {
				t.Fatal(err)
			}
			img, err := idx.Image(h)
			if err != nil {
				t.Fatalf("build %d: %v", i, err)
			}
			want := fmt.Sprintf("build %d of %s %s", i, t.Name(), platforms.Format(m.Platform))
			if got := string(fileFromImageRaw(t, img, "id")); got != want {
				t.Errorf("build %d %s: /id = %q, want %q", i, platforms.Format(m.Platform), got, want)
			}
		}
	}
}
