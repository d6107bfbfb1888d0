package platforms_test

import (
	"debug/elf"
	"encoding/binary"
	"testing"
)

// synthELF describes a minimal dynamic ELF file, for the byte orders and
// classes the host toolchain cannot make (big-endian, 32-bit with weak
// version needs) and for malformed input at known offsets. Its bytes are
// laid out as a linker would: headers, PT_INTERP, the dynamic string
// table, the version tables and PT_DYNAMIC, all in one PT_LOAD segment
// mapped at synthBase, and no section headers.
type synthELF struct {
	class   elf.Class
	order   byteOrder
	machine elf.Machine
	interp  string
	needed  []string
	needs   []synthNeed
	defs    []string // version definitions; the first is the soname (VER_FLG_BASE)
}

// byteOrder reads and appends.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

type synthNeed struct {
	file     string
	versions []synthVersion
}

type synthVersion struct {
	name string
	weak bool
}

// synthBase is the virtual address of file offset 0.
const synthBase = 0x10000

// synthLayout gives the file offsets of what synthELF.build wrote.
type synthLayout struct {
	phoff, interp, strtab, strsz, verneed, verdef, dynamic uint64
}

func (s synthELF) build(tb testing.TB) ([]byte, synthLayout) {
	tb.Helper()
	var lay synthLayout
	is64 := s.class == elf.ELFCLASS64
	hdrSize, phent := uint64(binary.Size(elf.Header32{})), uint64(binary.Size(elf.Prog32{}))
	if is64 {
		hdrSize, phent = uint64(binary.Size(elf.Header64{})), uint64(binary.Size(elf.Prog64{}))
	}
	phnum := uint64(2)
	if s.interp != "" {
		phnum++
	}

	// Strings first: their offsets go into the tables.
	str := []byte{0}
	add := func(name string) uint32 {
		off := uint32(len(str))
		str = append(append(str, name...), 0)
		return off
	}
	neededOff := make([]uint32, len(s.needed))
	for i, n := range s.needed {
		neededOff[i] = add(n)
	}
	var verneed []byte
	index := uint16(len(s.defs) + 1)
	for i, n := range s.needs {
		next := uint32(0)
		if i < len(s.needs)-1 {
			next = uint32(16 + 16*len(n.versions))
		}
		verneed = s.order.AppendUint16(verneed, 1)
		verneed = s.order.AppendUint16(verneed, uint16(len(n.versions)))
		verneed = s.order.AppendUint32(verneed, add(n.file))
		verneed = s.order.AppendUint32(verneed, 16)
		verneed = s.order.AppendUint32(verneed, next)
		for j, v := range n.versions {
			flags, next := uint16(0), uint32(0)
			if v.weak {
				flags = uint16(elf.VER_FLG_WEAK)
			}
			if j < len(n.versions)-1 {
				next = 16
			}
			index++
			verneed = s.order.AppendUint32(verneed, 0) // vna_hash: not checked
			verneed = s.order.AppendUint16(verneed, flags)
			verneed = s.order.AppendUint16(verneed, index)
			verneed = s.order.AppendUint32(verneed, add(v.name))
			verneed = s.order.AppendUint32(verneed, next)
		}
	}
	var verdef []byte
	for i, name := range s.defs {
		flags, next := uint16(0), uint32(0)
		if i == 0 {
			flags = uint16(elf.VER_FLG_BASE)
		}
		if i < len(s.defs)-1 {
			next = 28
		}
		verdef = s.order.AppendUint16(verdef, 1)
		verdef = s.order.AppendUint16(verdef, flags)
		verdef = s.order.AppendUint16(verdef, uint16(i+1))
		verdef = s.order.AppendUint16(verdef, 1)
		verdef = s.order.AppendUint32(verdef, 0) // vd_hash: not checked
		verdef = s.order.AppendUint32(verdef, 20)
		verdef = s.order.AppendUint32(verdef, next)
		verdef = s.order.AppendUint32(verdef, add(name))
		verdef = s.order.AppendUint32(verdef, 0)
	}

	align := func(off uint64) uint64 { return (off + 7) &^ 7 }
	lay.phoff = hdrSize
	lay.interp = lay.phoff + phnum*phent
	lay.strtab = lay.interp
	if s.interp != "" {
		lay.strtab += uint64(len(s.interp)) + 1
	}
	lay.strsz = uint64(len(str))
	lay.verneed = align(lay.strtab + lay.strsz)
	lay.verdef = align(lay.verneed + uint64(len(verneed)))
	lay.dynamic = align(lay.verdef + uint64(len(verdef)))

	var dyn []byte
	entry := func(tag elf.DynTag, val uint64) {
		if is64 {
			dyn = s.order.AppendUint64(dyn, uint64(tag))
			dyn = s.order.AppendUint64(dyn, val)
		} else {
			dyn = s.order.AppendUint32(dyn, uint32(tag))
			dyn = s.order.AppendUint32(dyn, uint32(val))
		}
	}
	for _, off := range neededOff {
		entry(elf.DT_NEEDED, uint64(off))
	}
	entry(elf.DT_STRTAB, synthBase+lay.strtab)
	entry(elf.DT_STRSZ, lay.strsz)
	if len(s.needs) > 0 {
		entry(elf.DT_VERNEED, synthBase+lay.verneed)
		entry(elf.DT_VERNEEDNUM, uint64(len(s.needs)))
	}
	if len(s.defs) > 0 {
		entry(elf.DT_VERDEF, synthBase+lay.verdef)
		entry(elf.DT_VERDEFNUM, uint64(len(s.defs)))
	}
	entry(elf.DT_NULL, 0)
	size := lay.dynamic + uint64(len(dyn))

	type prog struct {
		typ              elf.ProgType
		off, filesz, mem uint64
	}
	progs := []prog{{elf.PT_LOAD, 0, size, size}, {elf.PT_DYNAMIC, lay.dynamic, uint64(len(dyn)), uint64(len(dyn))}}
	if s.interp != "" {
		progs = append([]prog{{elf.PT_INTERP, lay.interp, uint64(len(s.interp)) + 1, uint64(len(s.interp)) + 1}}, progs...)
	}

	var out []byte
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS] = byte(s.class)
	ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if s.order.String() == binary.BigEndian.String() {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var err error
	if is64 {
		out, err = binary.Append(out, s.order, elf.Header64{
			Ident: ident, Type: uint16(elf.ET_DYN), Machine: uint16(s.machine), Version: uint32(elf.EV_CURRENT),
			Phoff: lay.phoff, Ehsize: uint16(hdrSize), Phentsize: uint16(phent), Phnum: uint16(phnum),
		})
		for _, p := range progs {
			if err == nil {
				out, err = binary.Append(out, s.order, elf.Prog64{
					Type: uint32(p.typ), Flags: uint32(elf.PF_R), Off: p.off, Vaddr: synthBase + p.off, Paddr: synthBase + p.off,
					Filesz: p.filesz, Memsz: p.mem, Align: 8,
				})
			}
		}
	} else {
		out, err = binary.Append(out, s.order, elf.Header32{
			Ident: ident, Type: uint16(elf.ET_DYN), Machine: uint16(s.machine), Version: uint32(elf.EV_CURRENT),
			Phoff: uint32(lay.phoff), Ehsize: uint16(hdrSize), Phentsize: uint16(phent), Phnum: uint16(phnum),
		})
		for _, p := range progs {
			if err == nil {
				out, err = binary.Append(out, s.order, elf.Prog32{
					Type: uint32(p.typ), Flags: uint32(elf.PF_R), Off: uint32(p.off), Vaddr: uint32(synthBase + p.off),
					Paddr: uint32(synthBase + p.off), Filesz: uint32(p.filesz), Memsz: uint32(p.mem), Align: 8,
				})
			}
		}
	}
	if err != nil {
		tb.Fatalf("encoding ELF headers: %v", err)
	}
	if s.interp != "" {
		out = append(append(out, s.interp...), 0)
	}
	out = append(out, str...)
	pad := func(to uint64) {
		for uint64(len(out)) < to {
			out = append(out, 0)
		}
	}
	pad(lay.verneed)
	out = append(out, verneed...)
	pad(lay.verdef)
	out = append(out, verdef...)
	pad(lay.dynamic)
	out = append(out, dyn...)
	return out, lay
}
