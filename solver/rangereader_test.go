package solver

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// Every read through the block cache returns what a bytes.Reader returns
// for the same range: at block edges, across blocks, past the end, and
// larger than a block.
func TestRangeReaderMatchesFile(t *testing.T) {
	file := make([]byte, 5*rangeBlock+123)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range file {
		file[i] = byte(rng.IntN(256))
	}
	ref := &rangeRef{file: file}
	r := rangeReader(t.Context(), ref, "/bin/app", int64(len(file)))
	want := bytes.NewReader(file)
	offs := []int64{0, 1, rangeBlock - 1, rangeBlock, 2*rangeBlock - 3, int64(len(file)) - 10, int64(len(file)) - 1, int64(len(file)), int64(len(file)) + 7}
	sizes := []int{1, 12, 24, rangeBlock, rangeBlock + 1, 3 * rangeBlock}
	for range 500 {
		offs = append(offs, rng.Int64N(int64(len(file))+10))
		sizes = append(sizes, rng.IntN(2*rangeBlock)+1)
	}
	for i, off := range offs {
		for _, size := range []int{sizes[i%len(sizes)], sizes[(i+1)%len(sizes)]} {
			got, exp := make([]byte, size), make([]byte, size)
			n, err := r.ReadAt(got, off)
			wn, werr := want.ReadAt(exp, off)
			if n != wn || !bytes.Equal(got[:n], exp[:wn]) || !errors.Is(err, werr) && !(err == nil && werr == nil) {
				t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; bytes.Reader gives %d, %v (or other bytes)", size, off, n, err, wn, werr)
			}
		}
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at offset -1: no error")
	}
}

// The checks' pattern, a 4 KiB page read twice (platforms.CheckELF, then
// ReadELFDeps) and small reads within it, costs one round trip; the pages
// kept are bounded.
func TestRangeReaderRoundTrips(t *testing.T) {
	file := make([]byte, 64*rangeBlock)
	ref := &rangeRef{file: file}
	r := rangeReader(t.Context(), ref, "/bin/app", int64(len(file)))
	for _, c := range []struct{ off, n int }{{0, 4096}, {0, 4096}, {0, 64}, {64, 336}, {400, 1664}} {
		if _, err := r.ReadAt(make([]byte, c.n), int64(c.off)); err != nil {
			t.Fatal(err)
		}
	}
	if ref.reads != 1 {
		t.Errorf("%d round trips for reads within the first page, want 1", ref.reads)
	}
	for i := range 2 * rangeBlocks {
		if _, err := r.ReadAt(make([]byte, 8), int64(i*rangeBlock)); err != nil {
			t.Fatal(err)
		}
	}
	if b := r.(*blockReader); len(b.blocks) > rangeBlocks || len(b.order) != len(b.blocks) {
		t.Errorf("%d blocks kept (order %d), want at most %d", len(b.blocks), len(b.order), rangeBlocks)
	}
	before := ref.reads
	if _, err := r.ReadAt(make([]byte, 8), 0); err != nil {
		t.Fatal(err)
	}
	if ref.reads != before+1 {
		t.Errorf("page 0 after %d others: %d round trips, want it fetched again", 2*rangeBlocks, ref.reads-before)
	}
}

// A file that is shorter than its stat said is an error, not a short page
// kept as if it were the file.
func TestRangeReaderShortFile(t *testing.T) {
	ref := &rangeRef{file: make([]byte, 100)}
	r := rangeReader(t.Context(), ref, "/bin/app", 200)
	if _, err := r.ReadAt(make([]byte, 150), 0); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("ReadAt of a file shorter than its size: %v, want an error that is not io.EOF", err)
	}
}

// A file opened twice through one refFS (a library read for its
// dependencies, then for its symbol versions) is fetched once.
func TestRefFSSharesReaders(t *testing.T) {
	ref := &rangeRef{file: make([]byte, 3*rangeBlock)}
	img := newRefFS(ref)
	for range 2 {
		if _, err := img.readAt(t.Context(), "/lib/libc.so.6", 3*rangeBlock).ReadAt(make([]byte, 64), 0); err != nil {
			t.Fatal(err)
		}
	}
	if ref.reads != 1 {
		t.Errorf("%d round trips for the same page of the same file, want 1", ref.reads)
	}
}

// A path stat'd twice through one refFS (a library found, then read for
// its glibc versions) is asked of buildkitd once.
func TestRefFSKeepsStats(t *testing.T) {
	ref := &rangeRef{file: make([]byte, 10)}
	img := newRefFS(ref)
	for range 2 {
		if st, err := img.stat(t.Context(), "/lib/libc.so.6"); err != nil || st.Size != 10 {
			t.Fatalf("stat = %v, %v", st, err)
		}
	}
	if ref.stats != 1 {
		t.Errorf("%d StatFile round trips for one path, want 1", ref.stats)
	}
}
