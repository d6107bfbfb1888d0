package main

// The library's own cost: graph construction and marshalling (the llb
// package's BenchmarkGoImageMarshal, run with go test) and the client's
// heap while crossllb sends a context of 100,000 small files to the
// bench's buildkitd.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

type graphBench struct {
	Targets     int     `json:"targets"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
}

type contextMemory struct {
	Files         int     `json:"files"`
	Seconds       float64 `json:"seconds"`
	HeapGrowthMiB float64 `json:"heap_growth_mib"`
	PeakHeapMiB   float64 `json:"peak_heap_mib"`
}

type overhead struct {
	Graph   []graphBench   `json:"graph"`
	Context *contextMemory `json:"context_100k,omitempty"`
}

func measureOverhead(ctx context.Context, c *config, d *daemon, stderr io.Writer) (*overhead, error) {
	oh := &overhead{}
	fmt.Fprintf(stderr, "bench: go test -bench BenchmarkGoImageMarshal ./llb/\n")
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkGoImageMarshal", "-benchmem", "-benchtime", c.benchtime, "-count", "1", "./llb/")
	cmd.Dir, cmd.Stderr = c.repo, stderr
	out, err := cmd.Output()
	if err != nil {
		return oh, fmt.Errorf("go test -bench BenchmarkGoImageMarshal ./llb/: %w\n%s", err, out)
	}
	if oh.Graph, err = parseGoBench(out); err != nil {
		return oh, err
	}
	for _, g := range oh.Graph {
		fmt.Fprintf(stderr, "bench: graph for %2d targets: %.3f ms/op, %d allocs/op\n", g.Targets, g.NsPerOp/1e6, g.AllocsPerOp)
	}
	dir, err := hundredThousandFiles(filepath.Join(c.cache, "bench", "ctx-100k"))
	if err != nil {
		return oh, err
	}
	if err := d.prune(ctx); err != nil {
		return oh, err
	}
	if oh.Context, err = sendContext(ctx, d.addr, dir, 100_000); err != nil {
		return oh, fmt.Errorf("sending 100,000 files: %w", err)
	}
	fmt.Fprintf(stderr, "bench: 100,000-file context sent in %.1fs; client heap grew by %.1f MiB at most\n", oh.Context.Seconds, oh.Context.HeapGrowthMiB)
	return oh, nil
}

var benchLine = regexp.MustCompile(`^BenchmarkGoImageMarshal/targets=(\d+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)

// parseGoBench reads BenchmarkGoImageMarshal's lines from go test's output.
func parseGoBench(out []byte) ([]graphBench, error) {
	var gs []graphBench
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		var g graphBench
		g.Targets, _ = strconv.Atoi(m[1])
		g.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
		g.BytesPerOp, _ = strconv.ParseInt(m[3], 10, 64)
		g.AllocsPerOp, _ = strconv.ParseInt(m[4], 10, 64)
		gs = append(gs, g)
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("no BenchmarkGoImageMarshal results in go test's output:\n%s", out)
	}
	return gs, nil
}

// hundredThousandFiles makes (once) 100 directories of 1,000 small files.
func hundredThousandFiles(dir string) (string, error) {
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return filepath.Join(dir, "ctx"), nil
	}
	os.RemoveAll(dir)
	for d := range 100 {
		sub := filepath.Join(dir, "ctx", fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return "", err
		}
		for f := range 1000 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d", f)), fmt.Appendf(nil, "file %d/%d\n", d, f), 0o644); err != nil {
				return "", err
			}
		}
	}
	return filepath.Join(dir, "ctx"), os.WriteFile(done, nil, 0o644)
}

// sendContext builds, through crossllb's solver, a one-step graph that
// mounts the context and counts its files, sampling this process's heap
// every 20 ms. Nothing is exported.
func sendContext(ctx context.Context, addr, dir string, want int) (*contextMemory, error) {
	cl, err := solver.Connect(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var (
		mu   sync.Mutex
		peak uint64
	)
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
				mu.Lock()
				peak = max(peak, ms.HeapAlloc)
				mu.Unlock()
			}
		}
	}()
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		count := bk.Image("debian:bookworm-slim", bk.Platform(t.BuildPlatform)).
			Run(bk.Args([]string{"sh", "-c", fmt.Sprintf("test $(find /ctx -type f | wc -l) -eq %d", want)}), bk.Platform(t.BuildPlatform), bk.IgnoreCache,
				bk.AddMount("/ctx", bk.Local("context", bk.LocalUniqueID("crossllb-bench-100k")), bk.Readonly))
		return count.Root(), ocispec.Image{}, nil
	}
	start := time.Now()
	_, err = cl.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, fn, solver.WithLocal("context", dir))
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		return nil, err
	}
	return &contextMemory{
		Files:         want,
		Seconds:       elapsed.Seconds(),
		HeapGrowthMiB: float64(peak-min(peak, before.HeapAlloc)) / (1 << 20),
		PeakHeapMiB:   float64(peak) / (1 << 20),
	}, nil
}

func (o *overhead) markdown() string {
	var b strings.Builder
	if len(o.Graph) > 0 {
		b.WriteString("Graph construction and marshalling of the Go preset (`go test -bench BenchmarkGoImageMarshal -benchmem ./llb/`):\n\n")
		b.WriteString("| targets | time/op | allocs/op | bytes/op |\n|---|---|---|---|\n")
		for _, g := range o.Graph {
			fmt.Fprintf(&b, "| %d | %.3f ms | %d | %d |\n", g.Targets, g.NsPerOp/1e6, g.AllocsPerOp, g.BytesPerOp)
		}
	}
	if o.Context != nil {
		fmt.Fprintf(&b, "\nClient memory while sending a context of %d small files through crossllb (daemon pruned first): "+
			"%.1f s, heap grew by %.1f MiB at most (peak heap %.1f MiB).\n", o.Context.Files, o.Context.Seconds, o.Context.HeapGrowthMiB, o.Context.PeakHeapMiB)
	}
	return b.String()
}
