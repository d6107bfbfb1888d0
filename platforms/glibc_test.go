package platforms_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/platforms"
)

func TestParseGlibcVersion(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want platforms.GlibcVersion
	}{
		{"GLIBC_2.38", platforms.GlibcVersion{Major: 2, Minor: 38}},
		{"GLIBC_2.2.5", platforms.GlibcVersion{Major: 2, Minor: 2, Patch: 5}},
		{"GLIBC_2.0", platforms.GlibcVersion{Major: 2}},
		{"GLIBC_2.1.3", platforms.GlibcVersion{Major: 2, Minor: 1, Patch: 3}},
		{"GLIBC_10.100", platforms.GlibcVersion{Major: 10, Minor: 100}},
	} {
		got, err := platforms.ParseGlibcVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseGlibcVersion(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if s := "GLIBC_" + got.String(); s != tt.in {
			t.Errorf("ParseGlibcVersion(%q).String() = %q, does not spell the input", tt.in, s)
		}
	}
	for _, in := range []string{
		"", "GLIBC_", "GLIBC_2", "GLIBC_2.", "GLIBC_.2", "GLIBC_2.38.0", "GLIBC_02.3", "GLIBC_2.03",
		"GLIBC_2.+3", "GLIBC_2.-3", "GLIBC_2. 3", "GLIBC_2.3.4.5", "GLIBC_2.3a", "GLIBC_9999999.1",
		"GLIBC_PRIVATE", "GLIBC_ABI_DT_RELR", "GLIBCXX_3.4", "GCC_3.0", "2.38", "glibc_2.38", "GLIBC_2.38\x00",
	} {
		got, err := platforms.ParseGlibcVersion(in)
		if err == nil {
			t.Errorf("ParseGlibcVersion(%q) = %+v, want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(in)) {
			t.Errorf("ParseGlibcVersion(%q): error %q does not name the input", in, err)
		}
	}
}

func TestGlibcVersionOrder(t *testing.T) {
	sorted := []string{"2.0", "2.1", "2.1.3", "2.2", "2.2.5", "2.3", "2.9", "2.10", "2.38", "3.0"}
	vs := make([]platforms.GlibcVersion, len(sorted))
	for i, s := range sorted {
		v, err := platforms.ParseGlibcVersion("GLIBC_" + s)
		if err != nil {
			t.Fatal(err)
		}
		vs[i] = v
	}
	for i, v := range vs {
		for j, w := range vs {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := v.Compare(w); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", v, w, got, want)
			}
			if got := v.Less(w); got != (i < j) {
				t.Errorf("%v.Less(%v) = %v, want %v", v, w, got, i < j)
			}
		}
	}
	shuffled := []platforms.GlibcVersion{vs[4], vs[9], vs[0], vs[7], vs[2]}
	if got := platforms.MaxGlibcVersion(shuffled); got != vs[9] {
		t.Errorf("MaxGlibcVersion(%v) = %v, want %v", shuffled, got, vs[9])
	}
	if got := platforms.MaxGlibcVersion(nil); got != (platforms.GlibcVersion{}) {
		t.Errorf("MaxGlibcVersion(nil) = %+v, want the zero version", got)
	}
	slices.SortFunc(shuffled, platforms.GlibcVersion.Compare)
	if want := []platforms.GlibcVersion{vs[0], vs[2], vs[4], vs[7], vs[9]}; !reflect.DeepEqual(shuffled, want) {
		t.Errorf("sorted by Compare: %v, want %v", shuffled, want)
	}
}

// TestReadGlibcVersionsStub reads the stub libc.so.6 of testdata/elfdeps,
// whose version script (libc.map) defines glibc's names up to GLIBC_2.39.
func TestReadGlibcVersionsStub(t *testing.T) {
	path := fixturePath("libc-stub.so.6")
	got := readGlibcVersions(t, path)
	want := []string{"2.0", "2.1", "2.2.5", "2.17", "2.34", "2.38", "2.39"}
	if s := versionStrings(got); !reflect.DeepEqual(s, want) {
		t.Errorf("ReadGlibcVersions = %v, want %v", s, want)
	}
	if m := platforms.MaxGlibcVersion(got).String(); m != "2.39" {
		t.Errorf("MaxGlibcVersion = %s, want 2.39", m)
	}
	checkVersionsAgainstDebugELF(t, path, got)
}

// TestReadGlibcVersionsHost reads the host's libc.so.6: it defines the
// glibc of `getconf GNU_LIBC_VERSION`, as its newest version.
func TestReadGlibcVersionsHost(t *testing.T) {
	host := hostGlibc(t)
	path := hostLibc(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &countingReaderAt{r: f}
	got, err := platforms.ReadGlibcVersions(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	st, _ := f.Stat()
	t.Logf("%s (%d bytes): %d versions, read %d bytes in %d calls", path, st.Size(), len(got), r.bytes.Load(), r.calls.Load())
	if m := platforms.MaxGlibcVersion(got); m != host {
		t.Errorf("%s: newest version %v, want the host glibc %v", path, m, host)
	}
	oldest := map[string]platforms.GlibcVersion{"amd64": {Major: 2, Minor: 2, Patch: 5}, "arm64": {Major: 2, Minor: 17}}
	if want, ok := oldest[runtime.GOARCH]; ok && !slices.Contains(got, want) {
		t.Errorf("%s: versions %v lack GLIBC_%v, the oldest on %s", path, got, want, runtime.GOARCH)
	}
	if !slices.IsSortedFunc(got, platforms.GlibcVersion.Compare) {
		t.Errorf("versions %v are not sorted", got)
	}
	checkVersionsAgainstDebugELF(t, path, got)
}

func TestReadGlibcVersionsSynthetic(t *testing.T) {
	for _, order := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		for _, class := range []elf.Class{elf.ELFCLASS32, elf.ELFCLASS64} {
			b, _ := synthELF{class: class, order: order, machine: elf.EM_S390,
				defs: []string{"libc.so.6", "GLIBC_2.28", "GLIBC_2.17", "GLIBC_PRIVATE", "GLIBC_2.17"}}.build(t)
			got, err := platforms.ReadGlibcVersions(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%v %v: %v", class, order, err)
			}
			if s := versionStrings(got); !reflect.DeepEqual(s, []string{"2.17", "2.28"}) {
				t.Errorf("%v %v: ReadGlibcVersions = %v, want [2.17 2.28]", class, order, s)
			}
		}
	}
}

func TestReadGlibcVersionsErrors(t *testing.T) {
	notGlibc, _ := synthELF{class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_X86_64,
		defs: []string{"libfoo.so.1", "FOO_1.0", "GLIBCXX_3.4"}}.build(t)
	badVersion, lay := synthELF{class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_X86_64,
		defs: []string{"libc.so.6", "GLIBC_2.17"}}.build(t)
	binary.LittleEndian.PutUint16(badVersion[lay.verdef+28:], 2)
	for _, tt := range []struct {
		name    string
		b       []byte
		wantErr string
	}{
		{"program", readFixture(t, "hello"), "reading DT_VERDEF: the file defines no symbol versions"},
		{"other library", notGlibc, "reading DT_VERDEF: no GLIBC_ version defined"},
		{"record version", badVersion, "reading DT_VERDEF: record at 0x"},
		{"not ELF", []byte("!<arch>\n"), "reading ELF header: not an ELF file"},
	} {
		got, err := platforms.ReadGlibcVersions(bytes.NewReader(tt.b))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: ReadGlibcVersions = %v, %v; want an error containing %q", tt.name, got, err, tt.wantErr)
		}
	}

	b := readFixture(t, "libc-stub.so.6")
	want, err := platforms.ReadGlibcVersions(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		got, err := platforms.ReadGlibcVersions(bytes.NewReader(b[:n]))
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("libc-stub.so.6[:%d] = %v, want %v or an error", n, got, want)
		}
		if err != nil && got != nil {
			t.Errorf("libc-stub.so.6[:%d] = %v with error %v, want nil", n, got, err)
		}
	}
}

// checkVersionsAgainstDebugELF compares got with the GLIBC_ names of
// debug/elf's DynamicVersions.
func checkVersionsAgainstDebugELF(t *testing.T, path string, got []platforms.GlibcVersion) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	defer f.Close()
	defs, err := f.DynamicVersions()
	if err != nil {
		t.Fatalf("debug/elf: DynamicVersions: %v", err)
	}
	var want []platforms.GlibcVersion
	for _, d := range defs {
		if v, err := platforms.ParseGlibcVersion(d.Name); err == nil {
			want = append(want, v)
		}
	}
	slices.SortFunc(want, platforms.GlibcVersion.Compare)
	want = slices.Compact(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadGlibcVersions = %v, debug/elf finds %v", got, want)
	}
}

func readGlibcVersions(t *testing.T, path string) []platforms.GlibcVersion {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vs, err := platforms.ReadGlibcVersions(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return vs
}

func versionStrings(vs []platforms.GlibcVersion) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.String())
	}
	return out
}

// hostGlibc returns the version of the host's glibc, by getconf, and
// skips the test on a host without glibc.
func hostGlibc(t *testing.T) platforms.GlibcVersion {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("no glibc on %s", runtime.GOOS)
	}
	out, err := exec.Command("getconf", "GNU_LIBC_VERSION").Output()
	if err != nil {
		t.Skipf("getconf GNU_LIBC_VERSION: %v: the host C library is not glibc", err)
	}
	s, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "glibc ")
	if !ok {
		t.Fatalf("getconf GNU_LIBC_VERSION = %q, want \"glibc <version>\"", out)
	}
	v, err := platforms.ParseGlibcVersion("GLIBC_" + s)
	if err != nil {
		t.Fatalf("getconf GNU_LIBC_VERSION: %v", err)
	}
	return v
}

// hostLibc returns the path of the host's libc.so.6, and fails the test
// if a glibc host has none where distributions put it.
func hostLibc(t *testing.T) string {
	t.Helper()
	for _, p := range []string{
		"/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6",
		"/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/usr/lib/libc.so.6", "/lib/libc.so.6",
	} {
		if isFile(p) {
			return p
		}
	}
	t.Fatal("the host has glibc (getconf GNU_LIBC_VERSION) but no libc.so.6 in /lib/<multiarch>, /lib64, /usr/lib64 or /usr/lib")
	return ""
}
