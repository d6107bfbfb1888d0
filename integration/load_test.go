package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
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
				gen := bk.Image("debian:bookworm-slim", bk.Platform(tg.BuildPlatform)).
					Run(bk.Args([]string{"sh", "-c", `printf '%s %s' "$0" "$1" > /out/id`, content, platforms.Format(tg.Platform)}), bk.Platform(tg.BuildPlatform)).
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
	<-sampled
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

// A context of 100,000 small files is streamed: the client's heap stays
// bounded (far below the context's size), and every file arrives.
func TestHundredThousandFileContext(t *testing.T) {
	ctx := testContext(t, 15*time.Minute)
	c := connect(t, ctx)
	src := t.TempDir()
	const dirs, per = 100, 1000
	for d := range dirs {
		sub := filepath.Join(src, fmt.Sprintf("d%03d", d))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range per {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d", f)), []byte(fmt.Sprintf("file %d/%d\n", d, f)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	fn := func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		count := bk.Image("debian:bookworm-slim", bk.Platform(tg.BuildPlatform)).
			Run(bk.Args([]string{"sh", "-c", "find /ctx -type f | wc -l > /out/count"}), bk.Platform(tg.BuildPlatform), bk.IgnoreCache,
				bk.AddMount("/ctx", bk.Local("context", bk.LocalUniqueID("crossllb-100k")), bk.Readonly)).
			AddMount("/out", bk.Scratch())
		return bk.Scratch().File(bk.Copy(count, "/count", "/count")), ocispec.Image{}, nil
	}
	out := filepath.Join(t.TempDir(), "layout")
	start := time.Now()
	res, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, fn,
		solver.WithLocal("context", src), solver.WithOutput(solver.OCIDir(out)))
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	growth := float64(peak-min(peak, before.HeapAlloc)) / (1 << 20)
	t.Logf("100,000 files sent in %v; client heap grew by %.1f MiB at most", time.Since(start), growth)
	if growth > 256 {
		t.Errorf("the client's heap grew by %.1f MiB while sending 100,000 small files: not bounded", growth)
	}
	idx := onlyIndex(t, out)
	h, err := v1.NewHash(res.Manifests[0].Manifest.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(h)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(fileFromImageRaw(t, img, "count"))); got != "100000" {
		t.Errorf("the build saw %s files, want 100000", got)
	}
}
