package platforms_test

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"sync/atomic"
	"testing"

	"github.com/crossllb/crossllb/platforms"
)

// countingReaderAt counts what is read through it, as the solver's reads
// from BuildKit would be: bytes and ReadAt calls.
type countingReaderAt struct {
	r            io.ReaderAt
	bytes, calls atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	n, err := c.r.ReadAt(p, off)
	c.bytes.Add(int64(n))
	return n, err
}

// maxCost bounds what ReadELFDeps may read of a binary whatever its size:
// its headers and dynamic tables take a few pages.
const maxCost = 64 << 10

// bigC is a C program with 100 MiB of initialised data, between its
// program headers at the start and its section headers at the end.
const bigC = `#include <stdio.h>
char big[100 << 20] = {1};
int main(int argc, char **argv) { puts("hello"); return big[argc]; }
`

// bigGo is the same in Go.
const bigGo = `package main

import "os"

var big = [100 << 20]byte{1}

func main() { os.Exit(int(big[len(os.Args)])) }
`

// bigCgo is bigGo calling into libc.
const bigCgo = `package main

// #include <stdlib.h>
import "C"

import "os"

var big = [100 << 20]byte{1}

func main() { C.free(nil); os.Exit(int(big[len(os.Args)])) }
`

// TestReadELFDepsCost reads 100 MiB binaries through a counting ReaderAt:
// ReadELFDeps reads a few KiB of them, where debug/elf's NewFile,
// ImportedLibraries and DynamicVersionNeeds read more (logged for
// comparison).
func TestReadELFDepsCost(t *testing.T) {
	t.Run("gcc", func(t *testing.T) {
		needCC(t)
		measureCost(t, buildC(t, []byte(bigC)), false)
	})
	t.Run("go", func(t *testing.T) {
		measureCost(t, buildGo(t, bigGo, []string{"CGO_ENABLED=0"}), true)
	})
	t.Run("go cgo", func(t *testing.T) {
		needCC(t)
		measureCost(t, buildGo(t, bigCgo, []string{"CGO_ENABLED=1"}), false)
	})
}

func measureCost(t *testing.T, bin string, static bool) {
	t.Helper()
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 100<<20 {
		t.Fatalf("%s is %d bytes, want at least 100 MiB", bin, st.Size())
	}
	r := &countingReaderAt{r: f}
	deps, err := platforms.ReadELFDeps(r)
	if err != nil {
		t.Fatal(err)
	}
	if deps.Static() != static {
		t.Errorf("Static() = %v, want %v (%+v)", deps.Static(), static, deps)
	}
	if !static && len(deps.Needed) == 0 {
		t.Errorf("Needed is empty, want libc.so.6 (%+v)", deps)
	}
	read, calls := r.bytes.Load(), r.calls.Load()
	t.Logf("ReadELFDeps of a %d-byte binary: read %d bytes in %d ReadAt calls", st.Size(), read, calls)
	if read > maxCost {
		t.Errorf("ReadELFDeps read %d bytes of a %d-byte binary, want at most %d", read, st.Size(), maxCost)
	}

	d := &countingReaderAt{r: f}
	ef, err := elf.NewFile(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ef.ImportedLibraries(); err != nil {
		t.Fatal(err)
	}
	if !static {
		if _, err := ef.DynamicVersionNeeds(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("debug/elf for comparison: read %d bytes in %d ReadAt calls", d.bytes.Load(), d.calls.Load())
}

// TestCheckELFCost: CheckELF reads one 4 KiB page of a binary, whatever
// its size and its sections, where debug/elf's NewFile reads every section
// header and each compressed section's header (logged for comparison).
// The solver makes each read a round trip to buildkitd.
func TestCheckELFCost(t *testing.T) {
	for _, c := range []struct {
		name, platform string
		bin            func(t *testing.T) string
	}{
		{"go 100 MiB", "linux/amd64", func(t *testing.T) string { return buildGo(t, bigGo, []string{"CGO_ENABLED=0"}) }},
		{"go arm/v7", "linux/arm/v7", func(t *testing.T) string { return goBuild(t, "linux", "arm", "7") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := os.Open(c.bin(t))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := &countingReaderAt{r: f}
			if _, err := toolchain(t, c.platform).CheckELF(r); err != nil {
				t.Fatal(err)
			}
			if calls, read := r.calls.Load(), r.bytes.Load(); calls != 1 || read > 4096 {
				t.Errorf("CheckELF read %d bytes in %d ReadAt calls, want one call of at most 4096", read, calls)
			}
			d := &countingReaderAt{r: f}
			if _, err := elf.NewFile(d); err != nil {
				t.Fatal(err)
			}
			t.Logf("debug/elf.NewFile for comparison: read %d bytes in %d ReadAt calls", d.bytes.Load(), d.calls.Load())
		})
	}
	// An ARM binary whose float ABI only its interpreter tells: the
	// program headers and PT_INTERP are in the same first page.
	r := &countingReaderAt{r: bytes.NewReader(armELF(0x05000000, "/lib/ld-linux-armhf.so.3"))}
	h, err := toolchain(t, "linux/arm/v7").CheckELF(r)
	if err != nil || h.Float != platforms.FloatHard {
		t.Fatalf("CheckELF = %v, %v; want hard-float", h, err)
	}
	if calls := r.calls.Load(); calls != 1 {
		t.Errorf("CheckELF of an ARM binary with PT_INTERP made %d ReadAt calls, want 1", calls)
	}
}
