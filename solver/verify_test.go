package solver

import (
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"testing"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/crossllb/crossllb/platforms"
)

// rangeRef is a solved result holding one file, that refuses whole reads
// larger than the gateway's 16 MiB limit, as BuildKit does.
type rangeRef struct {
	gwclient.Reference
	file         []byte
	reads, stats int
}

func (r *rangeRef) ReadFile(_ context.Context, req gwclient.ReadRequest) ([]byte, error) {
	r.reads++
	if req.Range == nil {
		if len(r.file) > 16<<20 {
			return nil, io.ErrShortBuffer
		}
		return r.file, nil
	}
	end := min(req.Range.Offset+req.Range.Length, len(r.file))
	return r.file[req.Range.Offset:end], nil
}

func (r *rangeRef) StatFile(context.Context, gwclient.StatRequest) (*fstypes.Stat, error) {
	r.stats++
	return &fstypes.Stat{Size: int64(len(r.file))}, nil
}

// A binary is checked through ranged reads: a 20 MiB one passes, and
// reading past its end is io.EOF.
func TestRangeReaderLargeBinary(t *testing.T) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	big := append(self, make([]byte, 20<<20)...)
	ref := &rangeRef{file: big}
	r := rangeReader(t.Context(), ref, "/bin/app", int64(len(big)))
	f, err := elf.NewFile(r)
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine == elf.EM_NONE {
		t.Error("no ELF machine read")
	}
	buf := make([]byte, 8)
	if n, err := r.ReadAt(buf, int64(len(big))-4); n != 4 || err != io.EOF || !bytes.Equal(buf[:4], big[len(big)-4:]) {
		t.Errorf("ReadAt at the end: %d, %v", n, err)
	}
	if _, err := r.ReadAt(buf, int64(len(big))); err != io.EOF {
		t.Errorf("ReadAt past the end: %v, want io.EOF", err)
	}
}

func TestExecutablePath(t *testing.T) {
	for _, c := range []struct{ platform, path, want string }{
		{"linux/amd64", "/usr/local/bin/app", "/usr/local/bin/app"},
		{"windows/amd64", "/usr/local/bin/app", "/usr/local/bin/app.exe"},
		{"windows/amd64", "/usr/local/bin/app.exe", "/usr/local/bin/app.exe"},
		{"windows/amd64", "/tools/app.bat", "/tools/app.bat"},
		{"darwin/arm64", "/usr/local/bin/app", "/usr/local/bin/app"},
	} {
		if got := executablePath(platforms.MustParse(c.platform), c.path); got != c.want {
			t.Errorf("executablePath(%s, %q) = %q, want %q", c.platform, c.path, got, c.want)
		}
	}
}
