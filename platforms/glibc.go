package platforms

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// GlibcVersion is a glibc release as its symbol version names spell it:
// GLIBC_2.38 is {2, 38, 0}, GLIBC_2.2.5 is {2, 2, 5}. The zero value is
// no version.
type GlibcVersion struct {
	Major, Minor, Patch int
}

// glibcPrefix starts the name of every glibc release's symbol version.
const glibcPrefix = "GLIBC_"

// ParseGlibcVersion parses a symbol version name of a glibc release,
// "GLIBC_<major>.<minor>[.<patch>]" in decimal without leading zeros, as
// glibc writes them: "GLIBC_2.38", "GLIBC_2.2.5". Other names, such as
// GLIBC_PRIVATE, GLIBCXX_3.4 or a bare "2.38", are an error naming the
// input.
func ParseGlibcVersion(name string) (GlibcVersion, error) {
	rest, ok := strings.CutPrefix(name, glibcPrefix)
	parts := strings.Split(rest, ".")
	if !ok || len(parts) < 2 || len(parts) > 3 {
		return GlibcVersion{}, fmt.Errorf("%q: not a glibc version name, want GLIBC_<major>.<minor>[.<patch>]", name)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p[0] == '+' || p[0] == '-' || len(p) > 6 || (p[0] == '0' && len(p) > 1) || (i == 2 && n == 0) {
			return GlibcVersion{}, fmt.Errorf("%q: not a glibc version name: bad number %q", name, p)
		}
		nums[i] = n
	}
	return GlibcVersion{nums[0], nums[1], nums[2]}, nil
}

// String returns the version as glibc names its releases: "2.38",
// "2.2.5".
func (v GlibcVersion) String() string {
	s := strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
	if v.Patch != 0 {
		s += "." + strconv.Itoa(v.Patch)
	}
	return s
}

// Compare returns -1, 0 or +1 as v is older than, the same as, or newer
// than w. It fits slices.SortFunc.
func (v GlibcVersion) Compare(w GlibcVersion) int {
	return cmp.Or(cmp.Compare(v.Major, w.Major), cmp.Compare(v.Minor, w.Minor), cmp.Compare(v.Patch, w.Patch))
}

// Less reports whether v is older than w.
func (v GlibcVersion) Less(w GlibcVersion) bool {
	return v.Compare(w) < 0
}

// MaxGlibcVersion returns the newest of vs, the zero GlibcVersion if vs
// is empty.
func MaxGlibcVersion(vs []GlibcVersion) GlibcVersion {
	var max GlibcVersion
	for _, v := range vs {
		if max.Less(v) {
			max = v
		}
	}
	return max
}

// ReadGlibcVersions reads the version definitions (.gnu.version_d,
// DT_VERDEF) of a glibc shared library, libc.so.6 in the image, and
// returns the glibc releases it defines, oldest first: a binary whose
// [ELFDeps.VersionNeeds] from it name one that is missing does not start.
// The newest is the glibc version ([MaxGlibcVersion]). Other names
// (GLIBC_PRIVATE, the soname) are skipped. It reads as [ReadELFDeps] does,
// a few pages within the same bounds; a library that defines no glibc
// release (musl's libc.so, a library without versions) is an error.
func ReadGlibcVersions(r io.ReaderAt) ([]GlibcVersion, error) {
	f, err := openELF(r)
	if err != nil {
		return nil, err
	}
	d, err := f.dynamic()
	if err != nil {
		return nil, err
	}
	if !d.hasVerdef {
		return nil, fmt.Errorf("reading DT_VERDEF: the file defines no symbol versions: not glibc's libc.so.6")
	}
	strs, err := f.strings(d)
	if err != nil {
		return nil, fmt.Errorf("reading the dynamic string table: %w", err)
	}
	var vs []GlibcVersion
	records := 0
	const verdefSize, verdauxSize = 20, 8 // Elf32_Verdef and Elf64_Verdef are alike
	err = f.versionRecords(d.verdef, verdefSize, 16, &records, func(off uint64, rec []byte, end uint64) error {
		// vd_version, vd_flags, vd_ndx, vd_cnt uint16; vd_hash, vd_aux, vd_next uint32.
		// The first Elf_Verdaux names the version; glibc's loader
		// reads it whatever vd_cnt says.
		aux := off + uint64(f.order.Uint32(rec[12:]))
		a, err := f.record(aux, verdauxSize, end, &records)
		if err != nil {
			return err
		}
		name, err := f.str(strs, uint64(f.order.Uint32(a)))
		if err != nil {
			return fmt.Errorf("record at %#x: version name: %w", aux, err)
		}
		if v, err := ParseGlibcVersion(name); err == nil {
			vs = append(vs, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading DT_VERDEF: %w", err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("reading DT_VERDEF: no GLIBC_ version defined: not glibc's libc.so.6")
	}
	slices.SortFunc(vs, GlibcVersion.Compare)
	return slices.Compact(vs), nil
}
