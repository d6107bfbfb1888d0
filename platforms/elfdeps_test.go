package platforms_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/platforms"
)

// elfFixtures are the binaries of testdata/elfdeps, made by build.sh there
// with gcc 12 and GNU ld 2.40: what ReadELFDeps must find in each, by
// readelf -lV.
var elfFixtures = []struct {
	name         string
	interp       string
	needed       []string
	versionNeeds map[string][]string
	glibc        string // GlibcNeeded, "" for none
}{
	{
		name: "hello", interp: "/lib64/ld-linux-x86-64.so.2", needed: []string{"libc.so.6"},
		versionNeeds: map[string][]string{"libc.so.6": {"GLIBC_2.2.5", "GLIBC_2.34"}},
		glibc:        "2.34",
	},
	{
		name: "math", interp: "/lib64/ld-linux-x86-64.so.2", needed: []string{"libm.so.6", "libc.so.6"},
		versionNeeds: map[string][]string{"libm.so.6": {"GLIBC_2.29"}, "libc.so.6": {"GLIBC_2.2.5", "GLIBC_2.34"}},
		glibc:        "2.34",
	},
	{
		name: "strlcpy", interp: "/lib64/ld-linux-x86-64.so.2", needed: []string{"libc.so.6"},
		versionNeeds: map[string][]string{"libc.so.6": {"GLIBC_2.38", "GLIBC_2.34", "GLIBC_2.2.5"}},
		glibc:        "2.38",
	},
	{
		name: "hello-i386", interp: "/lib/ld-linux.so.2", needed: []string{"libc.so.6"},
		versionNeeds: map[string][]string{"libc.so.6": {"GLIBC_2.34", "GLIBC_2.0"}},
		glibc:        "2.34",
	},
	{name: "libc-stub.so.6"}, // a shared library that needs nothing
}

func fixturePath(name string) string { return filepath.Join("testdata", "elfdeps", name) }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixturePath(name))
	if err != nil {
		t.Fatalf("%v (rebuild the fixtures with testdata/elfdeps/build.sh)", err)
	}
	return b
}

func readDeps(t *testing.T, path string) (platforms.ELFDeps, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return platforms.ReadELFDeps(f)
}

func TestReadELFDepsFixtures(t *testing.T) {
	for _, tt := range elfFixtures {
		t.Run(tt.name, func(t *testing.T) {
			deps, err := readDeps(t, fixturePath(tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if deps.Interpreter != tt.interp {
				t.Errorf("Interpreter = %q, want %q", deps.Interpreter, tt.interp)
			}
			if !reflect.DeepEqual(deps.Needed, tt.needed) {
				t.Errorf("Needed = %q, want %q", deps.Needed, tt.needed)
			}
			if len(deps.VersionNeeds)+len(tt.versionNeeds) > 0 && !reflect.DeepEqual(deps.VersionNeeds, tt.versionNeeds) {
				t.Errorf("VersionNeeds = %q, want %q", deps.VersionNeeds, tt.versionNeeds)
			}
			if wantStatic := tt.interp == "" && len(tt.needed) == 0; deps.Static() != wantStatic {
				t.Errorf("Static() = %v, want %v", deps.Static(), wantStatic)
			}
			got := ""
			if g, ok := deps.GlibcNeeded(); ok {
				got = g.String()
			}
			if got != tt.glibc {
				t.Errorf("GlibcNeeded() = %q, want %q", got, tt.glibc)
			}
			checkAgainstDebugELF(t, fixturePath(tt.name), deps)
		})
	}
}

// checkAgainstDebugELF compares deps with what debug/elf finds through the
// section headers: PT_INTERP, ImportedLibraries and DynamicVersionNeeds
// (less weak versions).
func checkAgainstDebugELF(t *testing.T, path string, deps platforms.ELFDeps) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	defer f.Close()
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatalf("debug/elf: PT_INTERP: %v", err)
			}
			interp = strings.TrimRight(string(b), "\x00")
			break
		}
	}
	if deps.Interpreter != interp {
		t.Errorf("Interpreter = %q, debug/elf finds %q", deps.Interpreter, interp)
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("debug/elf: ImportedLibraries: %v", err)
	}
	if len(libs)+len(deps.Needed) > 0 && !reflect.DeepEqual(deps.Needed, libs) {
		t.Errorf("Needed = %q, debug/elf finds %q", deps.Needed, libs)
	}
	if f.SectionByType(elf.SHT_GNU_VERNEED) == nil {
		if len(deps.VersionNeeds) != 0 {
			t.Errorf("VersionNeeds = %q, debug/elf finds no version needs", deps.VersionNeeds)
		}
		return
	}
	vn, err := f.DynamicVersionNeeds()
	if err != nil {
		t.Fatalf("debug/elf: DynamicVersionNeeds: %v", err)
	}
	want := map[string][]string{}
	for _, n := range vn {
		for _, d := range n.Needs {
			if d.Flags&elf.VER_FLG_WEAK == 0 {
				want[n.Name] = append(want[n.Name], d.Dep)
			}
		}
	}
	if !reflect.DeepEqual(deps.VersionNeeds, want) {
		t.Errorf("VersionNeeds = %q, debug/elf finds %q", deps.VersionNeeds, want)
	}
}

// TestReadELFDepsNoSectionHeaders reads the fixtures with their section
// headers taken off, as sstrip does (e_shoff, e_shnum and e_shstrndx
// zeroed, the table cut off the end): the loader does not need them, and
// neither does ReadELFDeps.
func TestReadELFDepsNoSectionHeaders(t *testing.T) {
	for _, tt := range elfFixtures {
		t.Run(tt.name, func(t *testing.T) {
			b := readFixture(t, tt.name)
			want, err := platforms.ReadELFDeps(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			stripped := sstrip(t, b)
			if f, err := elf.NewFile(bytes.NewReader(stripped)); err != nil || len(f.Sections) != 0 {
				t.Fatalf("sstrip left sections: %v", err)
			}
			got, err := platforms.ReadELFDeps(bytes.NewReader(stripped))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("without section headers: %+v, with: %+v", got, want)
			}
		})
	}
}

// sstrip returns b without its section header table.
func sstrip(t *testing.T, b []byte) []byte {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(b)
	var shoff uint64
	if f.Class == elf.ELFCLASS64 {
		shoff = f.ByteOrder.Uint64(out[40:])
		f.ByteOrder.PutUint64(out[40:], 0)
		f.ByteOrder.PutUint16(out[60:], 0) // e_shnum
		f.ByteOrder.PutUint16(out[62:], 0) // e_shstrndx
	} else {
		shoff = uint64(f.ByteOrder.Uint32(out[32:]))
		f.ByteOrder.PutUint32(out[32:], 0)
		f.ByteOrder.PutUint16(out[48:], 0)
		f.ByteOrder.PutUint16(out[50:], 0)
	}
	return out[:shoff]
}

// TestReadELFDepsTruncated cuts each fixture at every length: ReadELFDeps
// either fails or, once the file holds all it reads, finds the whole
// answer; it never panics.
func TestReadELFDepsTruncated(t *testing.T) {
	for _, tt := range elfFixtures {
		b := readFixture(t, tt.name)
		want, err := platforms.ReadELFDeps(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for n := range len(b) {
			got, err := platforms.ReadELFDeps(bytes.NewReader(b[:n]))
			if err != nil {
				failed++
				if !reflect.DeepEqual(got, platforms.ELFDeps{}) {
					t.Errorf("%s[:%d]: %+v with error %v, want the zero ELFDeps", tt.name, n, got, err)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s[:%d] = %+v, want %+v or an error", tt.name, n, got, want)
			}
		}
		if failed == 0 {
			t.Errorf("%s: no truncation failed", tt.name)
		}
	}
}

// TestReadELFDepsSynthetic reads files for the byte orders and classes the
// host toolchain does not make: big-endian s390x and PowerPC, 32-bit ARM,
// and a weak version need, which the loader does not require.
func TestReadELFDepsSynthetic(t *testing.T) {
	needs := []synthNeed{
		{"libc.so.6", []synthVersion{{"GLIBC_2.17", false}, {"GLIBC_2.39", true}, {"GLIBC_2.28", false}}},
		{"libgcc_s.so.1", []synthVersion{{"GCC_3.0", false}, {"GCC_4.2.0", false}}},
		{"libm.so.6", []synthVersion{{"GLIBC_2.29", false}, {"GLIBC_PRIVATE", false}}},
		{"libdl.so.2", []synthVersion{{"GLIBC_2.34", true}}}, // only weak: not required
	}
	want := platforms.ELFDeps{
		Needed: []string{"libgcc_s.so.1", "libm.so.6", "libc.so.6"},
		VersionNeeds: map[string][]string{
			"libc.so.6":     {"GLIBC_2.17", "GLIBC_2.28"},
			"libgcc_s.so.1": {"GCC_3.0", "GCC_4.2.0"},
			"libm.so.6":     {"GLIBC_2.29", "GLIBC_PRIVATE"},
		},
	}
	for _, tt := range []struct {
		class   elf.Class
		order   byteOrder
		machine elf.Machine
		interp  string
	}{
		{elf.ELFCLASS64, binary.BigEndian, elf.EM_S390, "/lib/ld64.so.1"},
		{elf.ELFCLASS32, binary.BigEndian, elf.EM_PPC, "/lib/ld.so.1"},
		{elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM, "/lib/ld-linux-armhf.so.3"},
		{elf.ELFCLASS64, binary.LittleEndian, elf.EM_AARCH64, "/lib/ld-linux-aarch64.so.1"},
	} {
		t.Run(tt.machine.String(), func(t *testing.T) {
			b, _ := synthELF{class: tt.class, order: tt.order, machine: tt.machine, interp: tt.interp,
				needed: want.Needed, needs: needs}.build(t)
			got, err := platforms.ReadELFDeps(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			w := want
			w.Interpreter = tt.interp
			if !reflect.DeepEqual(got, w) {
				t.Errorf("ReadELFDeps = %+v, want %+v", got, w)
			}
			if g, ok := got.GlibcNeeded(); !ok || g != (platforms.GlibcVersion{Major: 2, Minor: 29}) {
				t.Errorf("GlibcNeeded() = %v, %v; want 2.29 (libm's), not the weak 2.39", g, ok)
			}
		})
	}
}

// TestReadELFDepsMalformed breaks one field at a time of a well-formed
// file: each error says what was being read.
func TestReadELFDepsMalformed(t *testing.T) {
	s := synthELF{class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_X86_64,
		interp: "/lib64/ld-linux-x86-64.so.2", needed: []string{"libc.so.6"},
		needs: []synthNeed{{"libc.so.6", []synthVersion{{"GLIBC_2.34", false}}}}}
	good, lay := s.build(t)
	if _, err := platforms.ReadELFDeps(bytes.NewReader(good)); err != nil {
		t.Fatalf("the well-formed file: %v", err)
	}
	le := binary.LittleEndian
	dynEntry := func(i int) uint64 { return lay.dynamic + uint64(16*i) } // DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_VERNEED, ...
	prog := func(i int) uint64 { return lay.phoff + uint64(56*i) }       // PT_INTERP, PT_LOAD, PT_DYNAMIC
	for _, tt := range []struct {
		name    string
		mutate  func(b []byte) []byte
		wantErr string
	}{
		{"empty", func(b []byte) []byte { return nil }, `reading ELF header: not an ELF file (it starts "")`},
		{"not ELF", func(b []byte) []byte { return []byte("#!/bin/sh\necho hello\n") }, `reading ELF header: not an ELF file (it starts "#!/b")`},
		{"ident", func(b []byte) []byte { return b[:10] }, "reading ELF header: unexpected EOF"},
		{"header", func(b []byte) []byte { return b[:40] }, "reading ELF header: unexpected EOF"},
		{"class", func(b []byte) []byte { b[elf.EI_CLASS] = 3; return b }, "reading ELF header: unknown class"},
		{"data", func(b []byte) []byte { b[elf.EI_DATA] = 0; return b }, "reading ELF header: unknown data encoding"},
		{"version", func(b []byte) []byte { b[elf.EI_VERSION] = 2; return b }, "reading ELF header: unknown ELF version"},
		{"object file", func(b []byte) []byte { le.PutUint16(b[16:], uint16(elf.ET_REL)); return b }, "file type ET_REL"},
		{"no program headers", func(b []byte) []byte { le.PutUint16(b[56:], 0); return b }, "reading program headers: there are none"},
		{"phentsize", func(b []byte) []byte { le.PutUint16(b[54:], 32); return b }, "reading program headers: entry size 32, want 56"},
		{"phnum", func(b []byte) []byte { le.PutUint16(b[56:], 0xffff); return b }, "reading program headers: 65535 entries"},
		{"phoff", func(b []byte) []byte { le.PutUint64(b[32:], 1<<63-8); return b }, "reading program header"},
		{"interp size", func(b []byte) []byte { le.PutUint64(b[prog(0)+32:], 5000); return b }, "reading PT_INTERP: size 5000"},
		{"interp NUL", func(b []byte) []byte { b[lay.strtab-1] = 'x'; return b }, "reading PT_INTERP: path is not NUL-terminated"},
		{"interp offset", func(b []byte) []byte { le.PutUint64(b[prog(0)+8:], 1<<40); return b }, "reading PT_INTERP: unexpected EOF"},
		{"dynamic size", func(b []byte) []byte { le.PutUint64(b[prog(2)+32:], 2<<20); return b }, "reading PT_DYNAMIC: 2097152 bytes"},
		{"dynamic past EOF", func(b []byte) []byte { le.PutUint64(b[prog(2)+32:], 4096); return b }, "reading PT_DYNAMIC: unexpected EOF"},
		{"strtab address", func(b []byte) []byte { le.PutUint64(b[dynEntry(1)+8:], 0x99999999); return b }, "reading the dynamic string table: DT_STRTAB: address 0x99999999 is in no PT_LOAD segment"},
		{"no strtab", func(b []byte) []byte { le.PutUint64(b[dynEntry(1):], uint64(elf.DT_DEBUG)); return b }, "reading the dynamic string table: no DT_STRTAB"},
		{"needed offset", func(b []byte) []byte { le.PutUint64(b[dynEntry(0)+8:], 0x1000); return b }, "reading DT_NEEDED: string at 0x1000: past the end of DT_STRTAB"},
		{"needed no NUL", func(b []byte) []byte { le.PutUint64(b[dynEntry(2)+8:], 5); return b }, "reading DT_NEEDED: string at 0x1: no NUL in 4 bytes"},
		{"verneed version", func(b []byte) []byte { le.PutUint16(b[lay.verneed:], 2); return b }, "reading DT_VERNEED: record at"},
		{"verneed next", func(b []byte) []byte { le.PutUint32(b[lay.verneed+12:], 1<<20); return b }, "reading DT_VERNEED: record at"},
		{"vernaux loop", func(b []byte) []byte { le.PutUint32(b[lay.verneed+16+12:], 1); return b }, "reading DT_VERNEED: "},
		{"verneed address", func(b []byte) []byte { le.PutUint64(b[dynEntry(3)+8:], 1); return b }, "reading DT_VERNEED: address 0x1 is in no PT_LOAD segment"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(bytes.Clone(good))
			got, err := platforms.ReadELFDeps(bytes.NewReader(b))
			if err == nil {
				t.Fatalf("ReadELFDeps = %+v, want an error containing %q", got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestReadELFDepsReaderError passes on the ReaderAt's own errors.
func TestReadELFDepsReaderError(t *testing.T) {
	boom := errors.New("range request failed")
	_, err := platforms.ReadELFDeps(failingReaderAt{boom})
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want it to wrap %v", err, boom)
	}
}

// TestReadELFDepsEOFAtEnd reads through a ReaderAt that returns io.EOF
// with the last bytes of its input, as io.ReaderAt allows: hello cut after
// the page that holds its PT_DYNAMIC.
func TestReadELFDepsEOFAtEnd(t *testing.T) {
	b := readFixture(t, "hello")
	want, err := platforms.ReadELFDeps(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := platforms.ReadELFDeps(eofAtEndReaderAt(b[:0x3000]))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadELFDeps = %+v, %v; want %+v", got, err, want)
	}
}

type eofAtEndReaderAt []byte

func (b eofAtEndReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if off+int64(n) == int64(len(b)) {
		return n, io.EOF
	}
	return n, nil
}

type failingReaderAt struct{ err error }

func (r failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, r.err }

// TestReadELFDepsGo reads binaries of the Go toolchain running the tests:
// static ones for several machines (big-endian s390x, 32-bit ARM), and
// -buildmode=pie ones, which have an interpreter and need no library.
func TestReadELFDepsGo(t *testing.T) {
	for _, tt := range []struct{ goarch, goarm string }{{"amd64", ""}, {"arm64", ""}, {"arm", "7"}, {"s390x", ""}} {
		t.Run("static "+tt.goarch, func(t *testing.T) {
			deps, err := readDeps(t, goBuild(t, "linux", tt.goarch, tt.goarm))
			if err != nil {
				t.Fatal(err)
			}
			if !deps.Static() || deps.Interpreter != "" || deps.Needed != nil || deps.VersionNeeds != nil {
				t.Errorf("ReadELFDeps = %+v, want a static binary", deps)
			}
		})
	}
	for _, tt := range []struct{ goarch, interp string }{
		{"amd64", "/lib64/ld-linux-x86-64.so.2"},
		{"arm64", "/lib/ld-linux-aarch64.so.1"},
		{"ppc64le", "/lib64/ld64.so.2"},
	} {
		t.Run("pie "+tt.goarch, func(t *testing.T) {
			bin := buildGo(t, helloGo, []string{"GOARCH=" + tt.goarch, "CGO_ENABLED=0"}, "-buildmode=pie", "-ldflags=-linkmode=internal")
			deps, err := readDeps(t, bin)
			if err != nil {
				t.Fatal(err)
			}
			if deps.Static() || deps.Interpreter != tt.interp || len(deps.Needed) != 0 {
				t.Errorf("ReadELFDeps = %+v, want interpreter %s and no DT_NEEDED", deps, tt.interp)
			}
			checkAgainstDebugELF(t, bin, deps)
		})
	}
}

// cgoGo is a Go program that calls into libc.
const cgoGo = `package main

// #include <stdlib.h>
import "C"

func main() { C.free(nil) }
`

// TestReadELFDepsCgo reads a Go binary linked by the host gcc against the
// host glibc: it needs libc.so.6, and no glibc newer than the host's.
func TestReadELFDepsCgo(t *testing.T) {
	needCC(t)
	host := hostGlibc(t)
	bin := buildGo(t, cgoGo, []string{"CGO_ENABLED=1"})
	deps, err := readDeps(t, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", deps)
	checkNeedsHostGlibc(t, deps, host)
	checkAgainstDebugELF(t, bin, deps)
}

// TestReadELFDepsC reads C programs built by the host gcc at test time:
// static, static-pie (PT_DYNAMIC but no interpreter nor DT_NEEDED), and
// the real strlcpy of glibc 2.38 when the host has it.
func TestReadELFDepsC(t *testing.T) {
	needCC(t)
	for _, tt := range []struct{ name, flag string }{{"static", "-static"}, {"static-pie", "-static-pie"}} {
		t.Run(tt.name, func(t *testing.T) {
			bin := buildC(t, readFixture(t, "hello.c"), tt.flag)
			deps, err := readDeps(t, bin)
			if err != nil {
				t.Fatal(err)
			}
			if !deps.Static() {
				t.Errorf("ReadELFDeps = %+v, want a static binary", deps)
			}
			checkAgainstDebugELF(t, bin, deps)
		})
	}
	t.Run("strlcpy", func(t *testing.T) {
		if host := hostGlibc(t); host.Less(platforms.GlibcVersion{Major: 2, Minor: 38}) {
			t.Skipf("host glibc %s has no strlcpy (glibc 2.38): testdata/elfdeps/strlcpy, linked against a stub libc, stands in", host)
		}
		src := "#include <string.h>\n#include <stdio.h>\nint main(void) { char b[4]; strlcpy(b, \"hello\", sizeof b); puts(b); return 0; }\n"
		bin := buildC(t, []byte(src))
		deps, err := readDeps(t, bin)
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := deps.GlibcNeeded(); !ok || g.Less(platforms.GlibcVersion{Major: 2, Minor: 38}) {
			t.Errorf("GlibcNeeded() = %v, %v; want at least 2.38 (%q)", g, ok, deps.VersionNeeds)
		}
		checkAgainstDebugELF(t, bin, deps)
	})
}

// TestReadELFDepsRust reads a Rust hello world built by rustc, when the
// host has it: it needs libc.so.6 and libgcc_s.so.1, whose GCC_ versions
// are not glibc's.
func TestReadELFDepsRust(t *testing.T) {
	if testing.Short() {
		t.Skip("building with rustc is slow; not in -short mode")
	}
	rustc, err := exec.LookPath("rustc")
	if err != nil {
		home, _ := os.UserHomeDir()
		if rustc = filepath.Join(home, ".cargo", "bin", "rustc"); !isFile(rustc) {
			t.Skip("no rustc in PATH or ~/.cargo/bin")
		}
	}
	host := hostGlibc(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.rs")
	if err := os.WriteFile(src, []byte("fn main() { println!(\"hello\"); }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	if out, err := exec.Command(rustc, "-C", "opt-level=1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("rustc: %v\n%s", err, out)
	}
	deps, err := readDeps(t, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", deps)
	checkNeedsHostGlibc(t, deps, host)
	checkAgainstDebugELF(t, bin, deps)
	for lib, names := range deps.VersionNeeds {
		for _, n := range names {
			if strings.HasPrefix(n, "GCC_") && lib != "libgcc_s.so.1" {
				t.Errorf("%s from %s, want GCC_ versions from libgcc_s.so.1", n, lib)
			}
		}
	}
}

// checkNeedsHostGlibc checks a binary linked against the host glibc.
func checkNeedsHostGlibc(t *testing.T, deps platforms.ELFDeps, host platforms.GlibcVersion) {
	t.Helper()
	if deps.Static() || deps.Interpreter == "" {
		t.Errorf("ReadELFDeps = %+v, want a dynamic binary", deps)
	}
	found := false
	for _, n := range deps.Needed {
		found = found || n == "libc.so.6"
	}
	if !found {
		t.Errorf("Needed = %q, want libc.so.6 in it", deps.Needed)
	}
	g, ok := deps.GlibcNeeded()
	if !ok || host.Less(g) || g.Less(platforms.GlibcVersion{Major: 2}) {
		t.Errorf("GlibcNeeded() = %v, %v; want a version no newer than the host's %v (%q)", g, ok, host, deps.VersionNeeds)
	}
}

func needCC(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("building with gcc is slow; not in -short mode")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc on the host")
	}
}

// buildC compiles a C program with the host gcc and returns the binary.
func buildC(t *testing.T, src []byte, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.c"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "main")
	args := append(append([]string{"-O1", "-o", bin}, flags...), filepath.Join(dir, "main.c"))
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// buildGo builds a one-file Go program for linux with env added, and
// returns the binary.
func buildGo(t *testing.T, src string, env []string, flags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("building Go binaries is slow; not in -short mode")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build test binaries: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "main")
	cmd := exec.Command(gobin, append(append([]string{"build", "-o", bin}, flags...), "main.go")...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOOS=linux", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local", "GO111MODULE=on"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s go build %s: %v\n%s", strings.Join(env, " "), strings.Join(flags, " "), err, out)
	}
	return bin
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// TestReadELFDepsRunPath: DT_RUNPATH (what ld writes with new dtags, the
// Debian default) and DT_RPATH (old dtags) are read as written.
func TestReadELFDepsRunPath(t *testing.T) {
	needCC(t)
	for _, tt := range []struct{ name, flag string }{
		{"runpath", "-Wl,--enable-new-dtags"},
		{"rpath", "-Wl,--disable-new-dtags"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := buildC(t, readFixture(t, "hello.c"), tt.flag, "-Wl,-rpath,$ORIGIN/../lib:/opt/app/lib")
			deps, err := readDeps(t, bin)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"$ORIGIN/../lib", "/opt/app/lib"}; !slices.Equal(deps.RunPath, want) {
				t.Errorf("RunPath = %q, want %q", deps.RunPath, want)
			}
		})
	}
	deps, err := readDeps(t, buildC(t, readFixture(t, "hello.c")))
	if err != nil {
		t.Fatal(err)
	}
	if deps.RunPath != nil {
		t.Errorf("RunPath = %q without -rpath", deps.RunPath)
	}
}
