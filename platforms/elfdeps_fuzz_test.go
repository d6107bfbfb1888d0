package platforms_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/crossllb/crossllb/platforms"
)

// maxRead is the bound ReadELFDeps and ReadGlibcVersions document: 4 MiB
// in all, whatever the input.
const maxRead = 4 << 20

// addELFSeeds adds the fixtures, cut at a few lengths, and synthetic
// files of each class and byte order.
func addELFSeeds(f *testing.F, names ...string) {
	for _, name := range names {
		b := readFixture(f, name)
		f.Add(b)
		for _, n := range []int{16, 64, 0x200, 0x1000, 0x3000, len(b) / 2} {
			if n < len(b) {
				f.Add(b[:n])
			}
		}
	}
	for _, class := range []elf.Class{elf.ELFCLASS32, elf.ELFCLASS64} {
		for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
			b, _ := synthELF{class: class, order: order, machine: elf.EM_S390, interp: "/lib/ld64.so.1",
				needed: []string{"libc.so.6", "libm.so.6"},
				needs: []synthNeed{
					{"libc.so.6", []synthVersion{{"GLIBC_2.17", false}, {"GLIBC_2.39", true}}},
					{"libm.so.6", []synthVersion{{"GLIBC_2.29", false}}},
				},
				defs: []string{"libc.so.6", "GLIBC_2.17", "GLIBC_PRIVATE"}}.build(f)
			f.Add(b)
		}
	}
}

func FuzzReadELFDeps(f *testing.F) {
	addELFSeeds(f, "hello", "math", "strlcpy", "hello-i386", "libc-stub.so.6")
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &countingReaderAt{r: bytes.NewReader(b)}
		deps, err := platforms.ReadELFDeps(r)
		if n := r.bytes.Load(); n > maxRead {
			t.Fatalf("read %d bytes, more than %d", n, maxRead)
		}
		if err != nil {
			if !reflect.DeepEqual(deps, platforms.ELFDeps{}) {
				t.Fatalf("ReadELFDeps = %+v with error %v, want the zero ELFDeps", deps, err)
			}
			return
		}
		if deps.Static() != (deps.Interpreter == "" && len(deps.Needed) == 0) {
			t.Fatalf("Static() = %v for %+v", deps.Static(), deps)
		}
		if g, ok := deps.GlibcNeeded(); ok {
			if _, err := platforms.ParseGlibcVersion("GLIBC_" + g.String()); err != nil {
				t.Fatalf("GlibcNeeded() = %+v, which does not spell a version: %v", g, err)
			}
		}
		again, err := platforms.ReadELFDeps(bytes.NewReader(b))
		if err != nil || !reflect.DeepEqual(again, deps) {
			t.Fatalf("second read = %+v, %v; first %+v", again, err, deps)
		}
	})
}

func FuzzReadGlibcVersions(f *testing.F) {
	addELFSeeds(f, "libc-stub.so.6", "hello")
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &countingReaderAt{r: bytes.NewReader(b)}
		vs, err := platforms.ReadGlibcVersions(r)
		if n := r.bytes.Load(); n > maxRead {
			t.Fatalf("read %d bytes, more than %d", n, maxRead)
		}
		if err != nil {
			if vs != nil {
				t.Fatalf("ReadGlibcVersions = %v with error %v, want nil", vs, err)
			}
			return
		}
		if len(vs) == 0 {
			t.Fatal("ReadGlibcVersions found no version and no error")
		}
		for i, v := range vs {
			if i > 0 && !vs[i-1].Less(v) {
				t.Fatalf("versions %v are not sorted and unique", vs)
			}
			if _, err := platforms.ParseGlibcVersion("GLIBC_" + v.String()); err != nil {
				t.Fatalf("version %+v does not spell a version: %v", v, err)
			}
		}
	})
}

func FuzzParseGlibcVersion(f *testing.F) {
	for _, s := range []string{"GLIBC_2.38", "GLIBC_2.2.5", "GLIBC_PRIVATE", "GLIBCXX_3.4", "GLIBC_2.38.0", "GLIBC_02.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := platforms.ParseGlibcVersion(s)
		if err != nil {
			return
		}
		if got := "GLIBC_" + v.String(); got != s {
			t.Fatalf("ParseGlibcVersion(%q) = %+v, which spells %q", s, v, got)
		}
	})
}
