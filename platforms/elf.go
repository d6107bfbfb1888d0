package platforms

import (
	"debug/elf"
	"fmt"
	"io"
)

// ARM e_flags bits of the EABI version 5 float ABI (ARM ELF specification,
// "ELF header"); debug/elf does not define them, nor expose e_flags.
const (
	efARMABIFloatSoft = 0x200
	efARMABIFloatHard = 0x400
)

// armInterpreters tells the float ABI of a dynamically linked ARM binary
// by its PT_INTERP, for binaries whose e_flags do not say: glibc's and
// musl's dynamic linkers have one name per float ABI.
var armInterpreters = []struct {
	path  string
	float ARMFloat
}{
	{"/lib/ld-linux-armhf.so.3", FloatHard},
	{"/lib/ld-linux.so.3", FloatSoft},
	{"/lib/ld-musl-armhf.so.1", FloatHard},
	{"/lib/ld-musl-arm.so.1", FloatSoft},
}

// CheckELF reads the ELF header of a binary and checks that it runs on the
// platform: machine, class and byte order must be those of t.ELF, and for
// 32-bit ARM the float ABI too, when both the row and the binary tell it.
// It returns the header it found, also with a mismatch error, which names
// the platform, what was found and what was wanted:
//
//	linux/arm64: binary is EM_X86_64 ELFCLASS64 little-endian, want EM_AARCH64 ELFCLASS64 little-endian
//
// The float ABI of an ARM binary is EF_ARM_ABI_FLOAT_HARD or
// EF_ARM_ABI_FLOAT_SOFT in e_flags (gcc and rustc write them), else its
// interpreter (/lib/ld-linux-armhf.so.3 hard, /lib/ld-linux.so.3 soft, and
// musl's ld-musl-armhf.so.1 and ld-musl-arm.so.1), else unknown, which is
// accepted: Go's linker writes no float flag (e_flags 0x05000002 for
// GOARM=7) and its static binaries have no interpreter.
//
// CheckELF reads the ELF header (the first 4 KiB page) and, only for an
// ARM binary whose e_flags do not tell, the program headers and PT_INTERP;
// never the section headers (debug/elf.NewFile reads them all, and the
// header of every compressed section: 13 reads for a 2 MB Go binary where
// this makes one).
//
// On a platform whose binaries are not ELF (windows, darwin), CheckELF
// returns an error wrapping [ErrUnsupported].
func (t Toolchain) CheckELF(r io.ReaderAt) (ELFHeader, error) {
	id := Format(t.Platform)
	if t.Binary != BinaryELF {
		return ELFHeader{}, fmt.Errorf("%s: %w: its binaries are %s, not ELF", id, ErrUnsupported, t.Binary)
	}
	f, err := readELFHeader(r)
	if err != nil {
		return ELFHeader{}, fmt.Errorf("%s: reading ELF binary: %w", id, err)
	}
	got := ELFHeader{Machine: f.machine, Class: f.class, Data: f.data}
	if f.machine == elf.EM_ARM {
		if got.Float, err = f.armFloat(); err != nil {
			return got, fmt.Errorf("%s: reading ELF binary: %w", id, err)
		}
	}
	want := t.ELF
	floatDiffers := want.Float != FloatAny && got.Float != FloatAny && got.Float != want.Float
	if got.Machine != want.Machine || got.Class != want.Class || got.Data != want.Data || floatDiffers {
		return got, fmt.Errorf("%s: binary is %s, want %s", id, got, want)
	}
	return got, nil
}

// String describes h as in CheckELF's errors:
// "EM_ARM ELFCLASS32 little-endian hard-float". The float ABI is left out
// when it is FloatAny.
func (h ELFHeader) String() string {
	var order string
	switch h.Data {
	case elf.ELFDATA2LSB:
		order = "little-endian"
	case elf.ELFDATA2MSB:
		order = "big-endian"
	default:
		order = h.Data.String()
	}
	s := h.Machine.String() + " " + h.Class.String() + " " + order
	if h.Float != FloatAny {
		s += " " + h.Float.String()
	}
	return s
}

// armFloat returns the float ABI of an EM_ARM binary, FloatAny if it does
// not tell. It reads the program headers only when e_flags does not tell.
func (f *elfFile) armFloat() (ARMFloat, error) {
	switch {
	case f.flags&efARMABIFloatHard != 0:
		return FloatHard, nil
	case f.flags&efARMABIFloatSoft != 0:
		return FloatSoft, nil
	case f.phnum == 0:
		return FloatAny, nil
	}
	if err := f.readProgs(); err != nil {
		return FloatAny, err
	}
	interp, err := f.interpreter()
	if err != nil {
		return FloatAny, err
	}
	for _, i := range armInterpreters {
		if i.path == interp {
			return i.float, nil
		}
	}
	return FloatAny, nil
}
