package platforms

import (
	"debug/elf"
	"fmt"
	"io"
	"strings"
)

// ELFDeps is what an ELF binary needs from its image to start: the dynamic
// loader named by its interpreter, the libraries it lists, and the symbol
// versions it wants from them. [ReadELFDeps] reads it.
type ELFDeps struct {
	// Interpreter is the path in PT_INTERP, the dynamic loader the kernel
	// starts (e.g. /lib64/ld-linux-x86-64.so.2); "" for a static binary.
	Interpreter string
	// Needed lists the DT_NEEDED entries, in order: the library files the
	// loader looks for (e.g. libc.so.6), or paths if they have a slash.
	// The libraries' own needs are not followed.
	Needed []string
	// VersionNeeds lists, by library file (e.g. "libc.so.6"), the symbol
	// versions required from it (.gnu.version_r, DT_VERNEED), in the
	// file's order, e.g. ["GLIBC_2.34" "GLIBC_2.2.5"]. The loader refuses
	// to start the binary if one is missing, except a version marked weak
	// (VER_FLG_WEAK), which is left out, as is a library with only weak
	// versions. Nil when the binary has no version needs.
	VersionNeeds map[string][]string
	// RunPath lists the directories of DT_RUNPATH, or of DT_RPATH when
	// there is no DT_RUNPATH, as written (a "$ORIGIN" is not expanded):
	// the loader searches them for Needed before its own directories.
	RunPath []string
}

// ReadELFDeps reads what the ELF executable or shared library in r needs
// at run time, as the kernel and glibc's loader read it: from the program
// headers, PT_INTERP and PT_DYNAMIC, and the dynamic string and version
// tables they point to. It reads a few KiB in 4 KiB pages whatever the size
// of the file (two pages for a C program), never the section headers, so
// a binary with its section headers stripped reads the same.
//
// Malformed or truncated input gives an error saying what was being read,
// e.g. "reading DT_NEEDED: string at 0x1f0: past the end of DT_STRTAB
// (0x8a bytes)"; sizes read from the file are bounded (program headers 64
// KiB, PT_DYNAMIC 1 MiB, 4 MiB in all), so no input makes it allocate
// more. It does not check the machine: see [Toolchain.CheckELF].
func ReadELFDeps(r io.ReaderAt) (ELFDeps, error) {
	f, err := openELF(r)
	if err != nil {
		return ELFDeps{}, err
	}
	var deps ELFDeps
	if deps.Interpreter, err = f.interpreter(); err != nil {
		return ELFDeps{}, err
	}
	d, err := f.dynamic()
	if err != nil {
		return ELFDeps{}, err
	}
	if len(d.needed) == 0 && !d.hasVerneed {
		return deps, nil
	}
	strs, err := f.strings(d)
	if err != nil {
		return ELFDeps{}, fmt.Errorf("reading the dynamic string table: %w", err)
	}
	for _, i := range d.needed {
		name, err := f.str(strs, i)
		if err != nil {
			return ELFDeps{}, fmt.Errorf("reading DT_NEEDED: %w", err)
		}
		deps.Needed = append(deps.Needed, name)
	}
	if d.hasRunpath || d.hasRpath {
		at, tag := d.runpath, "DT_RUNPATH"
		if !d.hasRunpath {
			at, tag = d.rpath, "DT_RPATH"
		}
		list, err := f.str(strs, at)
		if err != nil {
			return ELFDeps{}, fmt.Errorf("reading %s: %w", tag, err)
		}
		for dir := range strings.SplitSeq(list, ":") {
			if dir != "" {
				deps.RunPath = append(deps.RunPath, dir)
			}
		}
	}
	if d.hasVerneed {
		if deps.VersionNeeds, err = f.versionNeeds(d.verneed, strs); err != nil {
			return ELFDeps{}, fmt.Errorf("reading DT_VERNEED: %w", err)
		}
	}
	return deps, nil
}

// versionNeeds reads the Elf_Verneed records at addr and their Elf_Vernaux
// records, as glibc's loader does: each chain ends at a zero next field.
func (f *elfFile) versionNeeds(addr uint64, strs elfStrings) (map[string][]string, error) {
	const verneedSize, vernauxSize = 16, 16 // Elf32_Verneed and Elf64_Verneed are alike
	needs := map[string][]string{}
	records := 0
	err := f.versionRecords(addr, verneedSize, 12, &records, func(off uint64, rec []byte, end uint64) error {
		// vn_version, vn_cnt uint16; vn_file, vn_aux, vn_next uint32
		file, err := f.str(strs, uint64(f.order.Uint32(rec[4:])))
		if err != nil {
			return fmt.Errorf("record at %#x: file name: %w", off, err)
		}
		versions := needs[file]
		for aux := off + uint64(f.order.Uint32(rec[8:])); ; {
			a, err := f.record(aux, vernauxSize, end, &records)
			if err != nil {
				return err
			}
			// vna_hash uint32; vna_flags, vna_other uint16; vna_name, vna_next uint32
			if elf.DynamicVersionFlag(f.order.Uint16(a[4:]))&elf.VER_FLG_WEAK == 0 {
				name, err := f.str(strs, uint64(f.order.Uint32(a[8:])))
				if err != nil {
					return fmt.Errorf("record at %#x: version name: %w", aux, err)
				}
				versions = append(versions, name)
			}
			next := uint64(f.order.Uint32(a[12:]))
			if next == 0 {
				break
			}
			aux += next
		}
		if len(versions) > 0 {
			needs[file] = versions
		}
		return nil
	})
	if err != nil || len(needs) == 0 {
		return nil, err
	}
	return needs, nil
}

// Static reports whether the binary needs nothing from its image: no
// interpreter and no DT_NEEDED, what xx-verify --static checks. A
// static-pie binary is static; a Go -buildmode=pie binary, which has an
// interpreter and no DT_NEEDED, is not.
func (d ELFDeps) Static() bool {
	return d.Interpreter == "" && len(d.Needed) == 0
}

// GlibcNeeded returns the highest GLIBC_x.y[.z] version the binary needs
// from any library (libc.so.6, libm.so.6, ld-linux-*.so.*), that is the
// oldest glibc it starts with, and false if it needs none. Other version
// names (GLIBC_PRIVATE, GLIBC_ABI_DT_RELR, GCC_3.0) are not glibc
// releases and are skipped.
func (d ELFDeps) GlibcNeeded() (GlibcVersion, bool) {
	var max GlibcVersion
	found := false
	for _, names := range d.VersionNeeds {
		for _, n := range names {
			if v, err := ParseGlibcVersion(n); err == nil && (!found || max.Less(v)) {
				max, found = v, true
			}
		}
	}
	return max, found
}
