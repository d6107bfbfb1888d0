package platforms

import (
	"debug/macho"
	"debug/pe"
	"fmt"
	"io"
)

// Expected PE machine and Mach-O CPU of the Go-only rows, by GOARCH.
var (
	peMachines = map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}
	machoCPUs  = map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}
)

// CheckBinary checks a binary of t's format against t and describes what
// it found: ELF through CheckELF, PE (windows) by its machine, Mach-O
// (darwin) by its CPU. Errors name the platform, what was expected and what
// was found.
func (t Toolchain) CheckBinary(r io.ReaderAt) (string, error) {
	id := Format(t.Platform)
	switch t.Binary {
	case BinaryELF:
		h, err := t.CheckELF(r)
		if err != nil {
			return "", err
		}
		return h.String(), nil
	case BinaryPE:
		f, err := pe.NewFile(r)
		if err != nil {
			return "", fmt.Errorf("%s: reading PE binary: %w", id, err)
		}
		defer f.Close()
		want, ok := peMachines[t.GOARCH]
		if !ok {
			return "", fmt.Errorf("%s: %w: no PE machine known for GOARCH %s", id, ErrUnsupported, t.GOARCH)
		}
		if f.Machine != want {
			return "", fmt.Errorf("%s: binary is PE machine %#x, want %#x", id, f.Machine, want)
		}
		return fmt.Sprintf("PE machine %#x", f.Machine), nil
	case BinaryMachO:
		f, err := macho.NewFile(r)
		if err != nil {
			return "", fmt.Errorf("%s: reading Mach-O binary: %w", id, err)
		}
		defer f.Close()
		want, ok := machoCPUs[t.GOARCH]
		if !ok {
			return "", fmt.Errorf("%s: %w: no Mach-O CPU known for GOARCH %s", id, ErrUnsupported, t.GOARCH)
		}
		if f.Cpu != want {
			return "", fmt.Errorf("%s: binary is Mach-O %s, want %s", id, f.Cpu, want)
		}
		return "Mach-O " + f.Cpu.String(), nil
	}
	return "", fmt.Errorf("%s: %w: binary format %q", id, ErrUnsupported, t.Binary)
}
