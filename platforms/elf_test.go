package platforms_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/platforms"
)

const helloGo = "package main\n\nfunc main() { println(\"hello\") }\n"

// goBuild cross-compiles a tiny program with the Go toolchain running the
// tests and returns the path of the binary.
func goBuild(t *testing.T, goos, goarch, goarm string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("cross-compiling binaries is slow; not in -short mode")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build test binaries: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(helloGo), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(gobin, "build", "-o", out, "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOOS="+goos, "GOARCH="+goarch, "GOARM="+goarm,
		"CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local", "GO111MODULE=on",
	)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=%s GOARCH=%s GOARM=%s go build: %v\n%s", goos, goarch, goarm, err, b)
	}
	return out
}

func toolchain(t *testing.T, spec string) platforms.Toolchain {
	t.Helper()
	tc, err := platforms.ToolchainFor(platforms.MustParse(spec))
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

func checkFile(t *testing.T, tc platforms.Toolchain, path string) (platforms.ELFHeader, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return tc.CheckELF(f)
}

func TestCheckELFGoBinaries(t *testing.T) {
	for _, tt := range []struct {
		goarch, goarm string
		own           []string // toolchains that accept the binary
		found         platforms.ELFHeader
		other         string // a toolchain that rejects it
		wantErr       string
	}{
		{
			goarch: "amd64", own: []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4"},
			found: platforms.ELFHeader{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
			other: "linux/arm64", wantErr: "linux/arm64: binary is EM_X86_64 ELFCLASS64 little-endian, want EM_AARCH64 ELFCLASS64 little-endian",
		},
		{
			goarch: "arm64", own: []string{"linux/arm64"},
			found: platforms.ELFHeader{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
			other: "linux/amd64", wantErr: "linux/amd64: binary is EM_AARCH64 ELFCLASS64 little-endian, want EM_X86_64 ELFCLASS64 little-endian",
		},
		{
			// Go writes no float-ABI flag and no interpreter: the float ABI
			// is unknown, so every arm row accepts it.
			goarch: "arm", goarm: "7", own: []string{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"},
			found: platforms.ELFHeader{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB, Float: platforms.FloatAny},
			other: "linux/arm64", wantErr: "linux/arm64: binary is EM_ARM ELFCLASS32 little-endian, want EM_AARCH64 ELFCLASS64 little-endian",
		},
		{
			goarch: "386", own: []string{"linux/386"},
			found: platforms.ELFHeader{Machine: elf.EM_386, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB},
			other: "linux/amd64", wantErr: "linux/amd64: binary is EM_386 ELFCLASS32 little-endian, want EM_X86_64 ELFCLASS64 little-endian",
		},
		{
			goarch: "s390x", own: []string{"linux/s390x"},
			found: platforms.ELFHeader{Machine: elf.EM_S390, Class: elf.ELFCLASS64, Data: elf.ELFDATA2MSB},
			other: "linux/ppc64le", wantErr: "linux/ppc64le: binary is EM_S390 ELFCLASS64 big-endian, want EM_PPC64 ELFCLASS64 little-endian",
		},
		{
			goarch: "ppc64le", own: []string{"linux/ppc64le"},
			found: platforms.ELFHeader{Machine: elf.EM_PPC64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
			other: "linux/s390x", wantErr: "linux/s390x: binary is EM_PPC64 ELFCLASS64 little-endian, want EM_S390 ELFCLASS64 big-endian",
		},
		{
			goarch: "riscv64", own: []string{"linux/riscv64"},
			found: platforms.ELFHeader{Machine: elf.EM_RISCV, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
			other: "linux/arm64", wantErr: "linux/arm64: binary is EM_RISCV ELFCLASS64 little-endian, want EM_AARCH64 ELFCLASS64 little-endian",
		},
	} {
		t.Run(tt.goarch+tt.goarm, func(t *testing.T) {
			t.Parallel()
			bin := goBuild(t, "linux", tt.goarch, tt.goarm)
			for _, spec := range tt.own {
				got, err := checkFile(t, toolchain(t, spec), bin)
				if err != nil {
					t.Errorf("%s toolchain rejects its own binary: %v", spec, err)
				}
				if got != tt.found {
					t.Errorf("%s: CheckELF found %s (float %d), want %s (float %d)", spec, got, got.Float, tt.found, tt.found.Float)
				}
			}
			got, err := checkFile(t, toolchain(t, tt.other), bin)
			if err == nil {
				t.Fatalf("%s toolchain accepts a linux/%s binary", tt.other, tt.goarch)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error\n got: %v\nwant: %s", err, tt.wantErr)
			}
			if errors.Is(err, platforms.ErrUnsupported) {
				t.Errorf("a wrong binary is not an unsupported platform: %v", err)
			}
			if got != tt.found {
				t.Errorf("CheckELF found %s with the error, want %s", got, tt.found)
			}
		})
	}
}

// armELF returns a minimal little-endian 32-bit EM_ARM executable: an ELF
// header with the given e_flags and, if interp is set, one PT_INTERP
// program header naming it.
func armELF(flags uint32, interp string) []byte {
	const ehsize, phentsize = 52, 32
	var phnum uint16
	var phoff uint32
	if interp != "" {
		phnum, phoff = 1, ehsize
	}
	le := binary.LittleEndian
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 1 /* ELFCLASS32 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* ELFOSABI_NONE */})
	b.Write(make([]byte, 8))         // e_ident padding
	binary.Write(&b, le, uint16(2))  // e_type: ET_EXEC
	binary.Write(&b, le, uint16(40)) // e_machine: EM_ARM
	binary.Write(&b, le, uint32(1))  // e_version
	binary.Write(&b, le, uint32(0))  // e_entry
	binary.Write(&b, le, phoff)      // e_phoff
	binary.Write(&b, le, uint32(0))  // e_shoff
	binary.Write(&b, le, flags)      // e_flags
	binary.Write(&b, le, uint16(ehsize))
	binary.Write(&b, le, uint16(phentsize))
	binary.Write(&b, le, phnum)
	binary.Write(&b, le, uint16(40)) // e_shentsize
	binary.Write(&b, le, uint16(0))  // e_shnum
	binary.Write(&b, le, uint16(0))  // e_shstrndx
	if interp != "" {
		size := uint32(len(interp) + 1)
		binary.Write(&b, le, uint32(3))                // p_type: PT_INTERP
		binary.Write(&b, le, uint32(ehsize+phentsize)) // p_offset
		binary.Write(&b, le, uint32(0))                // p_vaddr
		binary.Write(&b, le, uint32(0))                // p_paddr
		binary.Write(&b, le, size)                     // p_filesz
		binary.Write(&b, le, size)                     // p_memsz
		binary.Write(&b, le, uint32(4))                // p_flags: PF_R
		binary.Write(&b, le, uint32(1))                // p_align
		b.WriteString(interp)
		b.WriteByte(0)
	}
	return b.Bytes()
}

func TestCheckELFFloatABI(t *testing.T) {
	const (
		hardFlags = 0x05000400 // EABI5, EF_ARM_ABI_FLOAT_HARD: gcc for arm-linux-gnueabihf
		softFlags = 0x05000200 // EABI5, EF_ARM_ABI_FLOAT_SOFT: gcc for arm-linux-gnueabi
		noFlags   = 0x05000000
		goFlags   = 0x05000002 // what Go's linker writes for GOARM=7
	)
	const (
		hardOnSoft = "linux/arm/v5: binary is EM_ARM ELFCLASS32 little-endian hard-float, want EM_ARM ELFCLASS32 little-endian soft-float"
		softOnHard = "linux/arm/v7: binary is EM_ARM ELFCLASS32 little-endian soft-float, want EM_ARM ELFCLASS32 little-endian hard-float"
	)
	for _, tt := range []struct {
		name         string
		bin          []byte
		float        platforms.ARMFloat
		v7Err, v5Err string // "" means accepted
	}{
		{"e_flags hard", armELF(hardFlags, ""), platforms.FloatHard, "", hardOnSoft},
		{"e_flags soft", armELF(softFlags, ""), platforms.FloatSoft, softOnHard, ""},
		{"e_flags win over interp", armELF(hardFlags, "/lib/ld-linux.so.3"), platforms.FloatHard, "", hardOnSoft},
		{"glibc armhf interp", armELF(noFlags, "/lib/ld-linux-armhf.so.3"), platforms.FloatHard, "", hardOnSoft},
		{"glibc armel interp", armELF(noFlags, "/lib/ld-linux.so.3"), platforms.FloatSoft, softOnHard, ""},
		{"musl armhf interp", armELF(noFlags, "/lib/ld-musl-armhf.so.1"), platforms.FloatHard, "", hardOnSoft},
		{"musl arm interp", armELF(noFlags, "/lib/ld-musl-arm.so.1"), platforms.FloatSoft, softOnHard, ""},
		{"unknown interp", armELF(noFlags, "/lib/ld-other.so.1"), platforms.FloatAny, "", ""},
		{"go static", armELF(goFlags, ""), platforms.FloatAny, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct{ spec, wantErr string }{
				{"linux/arm/v7", tt.v7Err},
				{"linux/arm/v5", tt.v5Err},
				{"linux/arm/v6", ""}, // armel soft or Alpine armhf hard: either
			} {
				got, err := toolchain(t, c.spec).CheckELF(bytes.NewReader(tt.bin))
				want := platforms.ELFHeader{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB, Float: tt.float}
				if got != want {
					t.Errorf("%s: CheckELF found %s (float %d), want %s (float %d)", c.spec, got, got.Float, want, want.Float)
				}
				switch {
				case c.wantErr == "" && err != nil:
					t.Errorf("%s: %v, want accepted", c.spec, err)
				case c.wantErr != "" && err == nil:
					t.Errorf("%s: accepted, want error %s", c.spec, c.wantErr)
				case c.wantErr != "" && err.Error() != c.wantErr:
					t.Errorf("%s: error\n got: %v\nwant: %s", c.spec, err, c.wantErr)
				}
			}
			_, err := toolchain(t, "linux/arm64").CheckELF(bytes.NewReader(tt.bin))
			if err == nil || !strings.HasPrefix(err.Error(), "linux/arm64: binary is EM_ARM ELFCLASS32 little-endian") {
				t.Errorf("linux/arm64: error %v, want a machine mismatch", err)
			}
		})
	}
}

func TestCheckELFNotELF(t *testing.T) {
	_, err := toolchain(t, "linux/amd64").CheckELF(bytes.NewReader([]byte("MZ\x90\x00 not an ELF file at all")))
	if err == nil || !strings.HasPrefix(err.Error(), "linux/amd64: reading ELF binary: ") {
		t.Errorf("error = %v, want linux/amd64: reading ELF binary: ...", err)
	}
	if errors.Is(err, platforms.ErrUnsupported) {
		t.Errorf("a non-ELF file is not an unsupported platform: %v", err)
	}

	// A truncated header.
	_, err = toolchain(t, "linux/arm/v7").CheckELF(bytes.NewReader(armELF(0x05000400, "")[:30]))
	if err == nil || !strings.HasPrefix(err.Error(), "linux/arm/v7: reading ELF binary: ") {
		t.Errorf("truncated: error = %v, want linux/arm/v7: reading ELF binary: ...", err)
	}
}

func TestCheckELFNonELFPlatforms(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{"windows/amd64", "windows/amd64: unsupported platform: its binaries are pe, not ELF"},
		{"darwin/arm64", "darwin/arm64: unsupported platform: its binaries are macho, not ELF"},
	} {
		_, err := toolchain(t, tt.spec).CheckELF(bytes.NewReader(armELF(0x05000400, "")))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error = %v, want %s", tt.spec, err, tt.want)
		}
		if !errors.Is(err, platforms.ErrUnsupported) {
			t.Errorf("%s: error %v does not wrap ErrUnsupported", tt.spec, err)
		}
	}
}
