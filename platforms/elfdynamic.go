package platforms

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// This file reads what the kernel and the dynamic loader read of an ELF
// file, and nothing else: the ELF header (all that Toolchain.CheckELF
// needs, bar an ARM binary's PT_INTERP), the program headers, PT_INTERP, PT_DYNAMIC
// and, through the PT_LOAD segments, the dynamic string table and the
// version tables the dynamic entries point to. Section headers are not
// read: the loader does not use them, and a binary whose section headers
// were stripped (sstrip) reads the same.
//
// debug/elf is not used past its types and constants: elf.NewFile reads
// every section header and the section name table, and
// File.DynamicVersionNeeds reads the whole dynamic symbol table, without a
// bound on sizes taken from the file; File.DynamicVersions even appends
// vd_cnt names per definition whatever the section holds (setting vd_cnt
// to 65535 in the 300 bytes of a library's .gnu.version_d makes it
// allocate 56 MiB, and it grows with the section). Here every size taken
// from the file is checked against a limit before anything is allocated,
// and all reads go through a page cache with a budget.

// Limits on what one call reads. They are far above what toolchains
// write (a C program takes two pages, glibc's libc.so.6 five) and keep a
// malformed or hostile file from costing more than a few MiB.
const (
	elfPageSize = 4 << 10 // unit of reads and of the cache
	// maxELFRead bounds the bytes read from the file by one call.
	maxELFRead = 4 << 20
	// maxProgHeaders bounds the program header table, in bytes, as
	// Linux's binfmt_elf does.
	maxProgHeaders = 64 << 10
	// maxInterp bounds PT_INTERP: PATH_MAX, as the kernel checks.
	maxInterp = 4096
	// maxDynamic bounds the PT_DYNAMIC segment (16 bytes an entry).
	maxDynamic = 1 << 20
	// maxELFName bounds one string of the dynamic string table.
	maxELFName = 4096
	// maxELFNames bounds the strings returned (DT_NEEDED entries and
	// version names) and maxELFNameBytes their total size.
	maxELFNames     = 4096
	maxELFNameBytes = 1 << 20
	// maxVersionRecords bounds the version records followed.
	maxVersionRecords = 1 << 14
)

// errReadLimit is returned once a call would read more than maxELFRead.
var errReadLimit = fmt.Errorf("more than %d MiB to read: not a sane ELF file", maxELFRead>>20)

// elfFile is an ELF executable or shared library opened for its dynamic
// linking information.
type elfFile struct {
	r     io.ReaderAt
	pages map[uint64][]byte // by page number; a short page ends the file
	read  int64             // bytes read from r
	class elf.Class
	data  elf.Data
	order binary.ByteOrder
	// From the ELF header.
	machine          elf.Machine
	flags            uint32
	typ              elf.Type
	version          uint32
	phoff            uint64
	phentsize, phnum uint16
	progs            []elf.ProgHeader
	names            int // strings returned so far
	bytes            int // their total size
}

// openELF reads the ELF header and program headers of r. It refuses what
// the kernel and the loader refuse: other ELF versions, object and core
// files, a program header entry size other than the class's.
func openELF(r io.ReaderAt) (*elfFile, error) {
	f, err := readELFHeader(r)
	if err != nil {
		return nil, err
	}
	if elf.Version(f.version) != elf.EV_CURRENT {
		return nil, fmt.Errorf("reading ELF header: unknown e_version %d", f.version)
	}
	if f.typ != elf.ET_EXEC && f.typ != elf.ET_DYN {
		return nil, fmt.Errorf("reading ELF header: file type %v, want an executable or a shared library (ET_EXEC or ET_DYN)", f.typ)
	}
	if f.phnum == 0 {
		return nil, errors.New("reading program headers: there are none: not a file the loader can map")
	}
	if err := f.readProgs(); err != nil {
		return nil, err
	}
	return f, nil
}

// readELFHeader reads the ELF header of r, and nothing else: the
// identification, then the class's header. It checks only what it needs
// to decode the rest (the magic, class, data encoding and EI_VERSION).
func readELFHeader(r io.ReaderAt) (*elfFile, error) {
	f := &elfFile{r: r, pages: map[uint64][]byte{}}
	first, err := f.page(0)
	if err != nil {
		return nil, fmt.Errorf("reading ELF header: %w", err)
	}
	if magic := first[:min(len(first), len(elf.ELFMAG))]; string(magic) != elf.ELFMAG {
		return nil, fmt.Errorf("reading ELF header: not an ELF file (it starts %q)", magic)
	}
	ident, err := f.readAt(0, elf.EI_NIDENT)
	if err != nil {
		return nil, fmt.Errorf("reading ELF header: %w", err)
	}
	f.class, f.data = elf.Class(ident[elf.EI_CLASS]), elf.Data(ident[elf.EI_DATA])
	switch f.data {
	case elf.ELFDATA2LSB:
		f.order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		f.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("reading ELF header: unknown data encoding %v", f.data)
	}
	if v := elf.Version(ident[elf.EI_VERSION]); v != elf.EV_CURRENT {
		return nil, fmt.Errorf("reading ELF header: unknown ELF version %v", v)
	}
	var typ, machine uint16
	switch f.class {
	case elf.ELFCLASS32:
		var h elf.Header32
		if err := f.decode(0, &h); err != nil {
			return nil, fmt.Errorf("reading ELF header: %w", err)
		}
		typ, machine, f.version, f.flags, f.phoff, f.phentsize, f.phnum = h.Type, h.Machine, h.Version, h.Flags, uint64(h.Phoff), h.Phentsize, h.Phnum
	case elf.ELFCLASS64:
		var h elf.Header64
		if err := f.decode(0, &h); err != nil {
			return nil, fmt.Errorf("reading ELF header: %w", err)
		}
		typ, machine, f.version, f.flags, f.phoff, f.phentsize, f.phnum = h.Type, h.Machine, h.Version, h.Flags, h.Phoff, h.Phentsize, h.Phnum
	default:
		return nil, fmt.Errorf("reading ELF header: unknown class %v", f.class)
	}
	f.typ, f.machine = elf.Type(typ), elf.Machine(machine)
	return f, nil
}

// readProgs reads the program headers the ELF header points to.
func (f *elfFile) readProgs() error {
	want := uint16(binary.Size(elf.Prog64{}))
	if f.class == elf.ELFCLASS32 {
		want = uint16(binary.Size(elf.Prog32{}))
	}
	if f.phentsize != want {
		return fmt.Errorf("reading program headers: entry size %d, want %d for %v", f.phentsize, want, f.class)
	}
	if int(f.phnum)*int(f.phentsize) > maxProgHeaders {
		return fmt.Errorf("reading program headers: %d entries: more than %d KiB", f.phnum, maxProgHeaders>>10)
	}
	f.progs = make([]elf.ProgHeader, f.phnum)
	for i := range f.progs {
		off, ok := addOffset(f.phoff, uint64(i)*uint64(f.phentsize))
		if !ok {
			return fmt.Errorf("reading program headers: offset %#x out of range", f.phoff)
		}
		var err error
		if f.class == elf.ELFCLASS32 {
			var p elf.Prog32
			err = f.decode(off, &p)
			f.progs[i] = elf.ProgHeader{Type: elf.ProgType(p.Type), Flags: elf.ProgFlag(p.Flags),
				Off: uint64(p.Off), Vaddr: uint64(p.Vaddr), Paddr: uint64(p.Paddr),
				Filesz: uint64(p.Filesz), Memsz: uint64(p.Memsz), Align: uint64(p.Align)}
		} else {
			var p elf.Prog64
			err = f.decode(off, &p)
			f.progs[i] = elf.ProgHeader{Type: elf.ProgType(p.Type), Flags: elf.ProgFlag(p.Flags),
				Off: p.Off, Vaddr: p.Vaddr, Paddr: p.Paddr, Filesz: p.Filesz, Memsz: p.Memsz, Align: p.Align}
		}
		if err != nil {
			return fmt.Errorf("reading program header %d: %w", i, err)
		}
	}
	return nil
}

// interpreter returns the path in the first PT_INTERP, "" if there is
// none. Like the kernel, it wants 2 to PATH_MAX bytes ending in a NUL.
func (f *elfFile) interpreter() (string, error) {
	for _, p := range f.progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		if p.Filesz < 2 || p.Filesz > maxInterp {
			return "", fmt.Errorf("reading PT_INTERP: size %d, want 2 to %d bytes", p.Filesz, maxInterp)
		}
		b, err := f.readAt(p.Off, int(p.Filesz))
		if err != nil {
			return "", fmt.Errorf("reading PT_INTERP: %w", err)
		}
		if b[len(b)-1] != 0 {
			return "", errors.New("reading PT_INTERP: path is not NUL-terminated")
		}
		path := string(b[:indexNUL(b)])
		if path == "" {
			return "", errors.New("reading PT_INTERP: empty path")
		}
		return path, nil
	}
	return "", nil
}

// dynamicInfo is what ReadELFDeps and ReadGlibcVersions take from the
// dynamic entries. Addresses are virtual, as in the file.
type dynamicInfo struct {
	needed                []uint64 // DT_NEEDED string offsets, in order
	strtab, strsz         uint64
	hasStrtab, hasStrsz   bool
	verneed, verdef       uint64
	hasVerneed, hasVerdef bool
	runpath, rpath        uint64 // DT_RUNPATH and DT_RPATH string offsets
	hasRunpath, hasRpath  bool
}

// dynamic reads the entries of the first PT_DYNAMIC up to DT_NULL. A file
// without PT_DYNAMIC (a static executable) has none. As in glibc's loader,
// the last of repeated address entries wins.
func (f *elfFile) dynamic() (dynamicInfo, error) {
	var d dynamicInfo
	var seg *elf.ProgHeader
	for i := range f.progs {
		if f.progs[i].Type == elf.PT_DYNAMIC {
			seg = &f.progs[i]
			break
		}
	}
	if seg == nil {
		return d, nil
	}
	if seg.Filesz > maxDynamic {
		return d, fmt.Errorf("reading PT_DYNAMIC: %d bytes: more than %d KiB", seg.Filesz, maxDynamic>>10)
	}
	b, err := f.readAt(seg.Off, int(seg.Filesz))
	if err != nil {
		return d, fmt.Errorf("reading PT_DYNAMIC: %w", err)
	}
	entSize := 16
	if f.class == elf.ELFCLASS32 {
		entSize = 8
	}
	for ; len(b) >= entSize; b = b[entSize:] {
		var tag elf.DynTag
		var val uint64
		if f.class == elf.ELFCLASS32 {
			tag, val = elf.DynTag(int32(f.order.Uint32(b))), uint64(f.order.Uint32(b[4:]))
		} else {
			tag, val = elf.DynTag(int64(f.order.Uint64(b))), f.order.Uint64(b[8:])
		}
		switch tag {
		case elf.DT_NULL:
			return d, nil
		case elf.DT_NEEDED:
			if len(d.needed) >= maxELFNames {
				return d, fmt.Errorf("reading DT_NEEDED: more than %d entries", maxELFNames)
			}
			d.needed = append(d.needed, val)
		case elf.DT_STRTAB:
			d.strtab, d.hasStrtab = val, true
		case elf.DT_STRSZ:
			d.strsz, d.hasStrsz = val, true
		case elf.DT_VERNEED:
			d.verneed, d.hasVerneed = val, true
		case elf.DT_VERDEF:
			d.verdef, d.hasVerdef = val, true
		case elf.DT_RUNPATH:
			d.runpath, d.hasRunpath = val, true
		case elf.DT_RPATH:
			d.rpath, d.hasRpath = val, true
		}
	}
	return d, nil
}

// elfStrings is the dynamic string table: size bytes at file offset off.
type elfStrings struct {
	off, size uint64
}

// strings locates DT_STRTAB in the file. Its size is DT_STRSZ, cut at the
// end of the segment it is in.
func (f *elfFile) strings(d dynamicInfo) (elfStrings, error) {
	if !d.hasStrtab {
		return elfStrings{}, errors.New("no DT_STRTAB")
	}
	off, avail, err := f.fileOffset(d.strtab)
	if err != nil {
		return elfStrings{}, fmt.Errorf("DT_STRTAB: %w", err)
	}
	size := avail
	if d.hasStrsz && d.strsz < size {
		size = d.strsz
	}
	return elfStrings{off, size}, nil
}

// str returns the NUL-terminated string at index i of the string table.
func (f *elfFile) str(t elfStrings, i uint64) (string, error) {
	if i >= t.size {
		return "", fmt.Errorf("string at %#x: past the end of DT_STRTAB (%#x bytes)", i, t.size)
	}
	if f.names >= maxELFNames {
		return "", fmt.Errorf("more than %d names", maxELFNames)
	}
	n := min(t.size-i, maxELFName)
	var s []byte
	for off := t.off + i; uint64(len(s)) < n; {
		page, err := f.page(off / elfPageSize)
		if err != nil {
			return "", fmt.Errorf("string at %#x: %w", i, err)
		}
		start := off % elfPageSize
		if start >= uint64(len(page)) {
			return "", fmt.Errorf("string at %#x: %w", i, io.ErrUnexpectedEOF)
		}
		chunk := page[start:min(uint64(len(page)), start+n-uint64(len(s)))]
		if j := indexNUL(chunk); j < len(chunk) {
			s = append(s, chunk[:j]...)
			if f.bytes += len(s); f.bytes > maxELFNameBytes {
				return "", fmt.Errorf("names total more than %d KiB", maxELFNameBytes>>10)
			}
			f.names++
			return string(s), nil
		}
		s = append(s, chunk...)
		off += uint64(len(chunk))
	}
	return "", fmt.Errorf("string at %#x: no NUL in %d bytes", i, n)
}

// versionRecords follows a chain of version records (Elf_Verneed or
// Elf_Verdef) from the virtual address addr, as glibc's loader does: by
// their next fields until one is 0, whatever the counts say. For each
// record it calls visit with the record's file offset and bytes, size
// bytes long, and the file offset where its segment ends. records counts
// the records read by the whole call, auxiliary ones included.
func (f *elfFile) versionRecords(addr uint64, size int, nextAt int, records *int, visit func(off uint64, rec []byte, end uint64) error) error {
	off, avail, err := f.fileOffset(addr)
	if err != nil {
		return err
	}
	end := off + avail // fileOffset checked the sum
	for {
		rec, err := f.record(off, size, end, records)
		if err != nil {
			return err
		}
		if v := f.order.Uint16(rec); v != 1 {
			return fmt.Errorf("record at %#x: version %d, want 1", off, v)
		}
		if err := visit(off, rec, end); err != nil {
			return err
		}
		next := uint64(f.order.Uint32(rec[nextAt:]))
		if next == 0 {
			return nil
		}
		off += next
	}
}

// record reads a version record of size bytes at off, which must end by
// end, and counts it against maxVersionRecords.
func (f *elfFile) record(off uint64, size int, end uint64, records *int) ([]byte, error) {
	if *records++; *records > maxVersionRecords {
		return nil, fmt.Errorf("more than %d version records", maxVersionRecords)
	}
	if off > end || end-off < uint64(size) {
		return nil, fmt.Errorf("record at %#x: past the end of its segment", off)
	}
	rec, err := f.readAt(off, size)
	if err != nil {
		return nil, fmt.Errorf("record at %#x: %w", off, err)
	}
	return rec, nil
}

// fileOffset maps a virtual address to the file offset of the PT_LOAD
// segment holding it, and the bytes of the segment in the file from there.
func (f *elfFile) fileOffset(addr uint64) (off, avail uint64, err error) {
	for _, p := range f.progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= p.Filesz {
			continue
		}
		delta := addr - p.Vaddr
		off, ok := addOffset(p.Off, delta)
		if !ok {
			break
		}
		avail := p.Filesz - delta
		if _, ok := addOffset(off, avail); !ok {
			break
		}
		return off, avail, nil
	}
	return 0, 0, fmt.Errorf("address %#x is in no PT_LOAD segment of the file", addr)
}

// decode reads the fixed-size value v at off.
func (f *elfFile) decode(off uint64, v any) error {
	b, err := f.readAt(off, binary.Size(v))
	if err != nil {
		return err
	}
	_, err = binary.Decode(b, f.order, v)
	return err
}

// readAt returns n bytes at off, through the page cache. Callers bound n.
func (f *elfFile) readAt(off uint64, n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("negative size %d", n)
	}
	if _, ok := addOffset(off, uint64(n)); !ok {
		return nil, fmt.Errorf("offset %#x out of range", off)
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		at := off + uint64(len(out))
		page, err := f.page(at / elfPageSize)
		if err != nil {
			return nil, err
		}
		start := at % elfPageSize
		if start >= uint64(len(page)) {
			return nil, io.ErrUnexpectedEOF
		}
		out = append(out, page[start:min(uint64(len(page)), start+uint64(n-len(out)))]...)
	}
	return out, nil
}

// page returns page i of the file, reading it on first use. The last page
// of the file is short.
func (f *elfFile) page(i uint64) ([]byte, error) {
	if p, ok := f.pages[i]; ok {
		return p, nil
	}
	if f.read+elfPageSize > maxELFRead {
		return nil, errReadLimit
	}
	f.read += elfPageSize
	buf := make([]byte, elfPageSize)
	n, err := f.r.ReadAt(buf, int64(i*elfPageSize))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	f.pages[i] = buf[:n]
	return buf[:n], nil
}

// addOffset returns off+n if it is a valid file offset (at most
// math.MaxInt64), as io.ReaderAt takes int64 offsets.
func addOffset(off, n uint64) (uint64, bool) {
	sum := off + n
	return sum, sum >= off && sum <= math.MaxInt64
}

// indexNUL returns the index of the first NUL in b, len(b) if none.
func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
