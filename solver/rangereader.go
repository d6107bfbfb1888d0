package solver

import (
	"context"
	"fmt"
	"io"
	"sync"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
)

// readerAtFunc turns a function into an io.ReaderAt.
type readerAtFunc func(p []byte, off int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// Ranged reads of a solved result go through the gateway, and each costs
// a round trip in which buildkitd mounts the result and unmounts it again
// (about a millisecond on a quiet machine; the bytes cost too, about 10 ms
// for 128 KiB). The checks read in 4 KiB pages (platforms.CheckELF reads
// one, then ReadELFDeps starts from the same one), so rangeReader keeps the
// last few pages it fetched: a static Go binary costs one read.
const (
	rangeBlock  = 4 << 10 // bytes fetched per round trip
	rangeBlocks = 16      // blocks kept per file
)

// rangeReader reads the file path of a solved result, size bytes long, in
// ranges, as the header checks ask for them: a binary is never read whole
// (BuildKit's gateway refuses to read more than 16 MiB at once, and a
// statically linked Go binary is often larger). It is safe for
// concurrent use.
func rangeReader(ctx context.Context, ref gwclient.Reference, path string, size int64) io.ReaderAt {
	return &blockReader{ctx: ctx, ref: ref, path: path, size: size, blocks: map[int64][]byte{}}
}

type blockReader struct {
	ctx  context.Context
	ref  gwclient.Reference
	path string
	size int64

	mu     sync.Mutex
	blocks map[int64][]byte // by block index
	order  []int64          // oldest first
}

func (r *blockReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("reading %s at offset %d: negative offset", r.path, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	if len(p) > rangeBlock {
		// A large read is its own round trip: caching it would only
		// evict the blocks that small reads share.
		return r.fetchInto(p, off)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(p) && off+int64(n) < r.size {
		at := off + int64(n)
		b, err := r.block(at / rangeBlock)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[at%rangeBlock:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// block returns block i, fetching it unless it is kept; r.mu is held.
func (r *blockReader) block(i int64) ([]byte, error) {
	if b, ok := r.blocks[i]; ok {
		return b, nil
	}
	start := i * rangeBlock
	want := min(rangeBlock, r.size-start)
	b, err := r.fetch(start, want)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < want {
		return nil, fmt.Errorf("reading %s: %d bytes at offset %d, want %d (did the file change?)", r.path, len(b), start, want)
	}
	if len(r.order) == rangeBlocks {
		delete(r.blocks, r.order[0])
		r.order = r.order[1:]
	}
	r.blocks[i] = b
	r.order = append(r.order, i)
	return b, nil
}

func (r *blockReader) fetchInto(p []byte, off int64) (int, error) {
	b, err := r.fetch(off, min(int64(len(p)), r.size-off))
	if err != nil {
		return 0, err
	}
	n := copy(p, b)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *blockReader) fetch(off, n int64) ([]byte, error) {
	return r.ref.ReadFile(r.ctx, gwclient.ReadRequest{Filename: r.path, Range: &gwclient.FileRange{Offset: int(off), Length: int(n)}})
}
