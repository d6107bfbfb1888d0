package platforms_test

import (
	"debug/elf"
	"reflect"
	"slices"
	"testing"

	"github.com/crossllb/crossllb/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// platformRow is one line of PLATFORMS.md (amd64/v2..v4 spelt out), every
// column written out, plus the names derived from it. Nothing here is
// computed from the table under test.
type platformRow struct {
	spec      string // "OCI platform" column, as a user would type it
	canonical string // Format of the parsed platform

	goEnv          []string // "Go env" column, with GOOS, sorted
	rust, rustMusl string
	debianArch     string
	gnuTriple      string
	alpineArch     string
	uname          string

	multiarch string // /usr/lib/<multiarch>
	binary    platforms.BinaryFormat
	elf       platforms.ELFHeader
	cc        string
	cross     []string // DebianCrossPackages
	libssl    []string // DebianMultiarch("libssl-dev")
}

var platformRows = []platformRow{
	{
		spec: "linux/amd64", canonical: "linux/amd64",
		goEnv: []string{"GOARCH=amd64", "GOOS=linux"},
		rust:  "x86_64-unknown-linux-gnu", rustMusl: "x86_64-unknown-linux-musl",
		debianArch: "amd64", gnuTriple: "x86_64-linux-gnu", alpineArch: "x86_64", uname: "x86_64",
		multiarch: "x86_64-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "x86_64-linux-gnu-gcc",
		cross:  []string{"gcc-x86-64-linux-gnu", "libc6-dev-amd64-cross"},
		libssl: []string{"libssl-dev:amd64"},
	},
	{
		spec: "linux/amd64/v2", canonical: "linux/amd64/v2",
		goEnv: []string{"GOAMD64=v2", "GOARCH=amd64", "GOOS=linux"},
		rust:  "x86_64-unknown-linux-gnu", rustMusl: "x86_64-unknown-linux-musl",
		debianArch: "amd64", gnuTriple: "x86_64-linux-gnu", alpineArch: "x86_64", uname: "x86_64",
		multiarch: "x86_64-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "x86_64-linux-gnu-gcc",
		cross:  []string{"gcc-x86-64-linux-gnu", "libc6-dev-amd64-cross"},
		libssl: []string{"libssl-dev:amd64"},
	},
	{
		spec: "linux/amd64/v3", canonical: "linux/amd64/v3",
		goEnv: []string{"GOAMD64=v3", "GOARCH=amd64", "GOOS=linux"},
		rust:  "x86_64-unknown-linux-gnu", rustMusl: "x86_64-unknown-linux-musl",
		debianArch: "amd64", gnuTriple: "x86_64-linux-gnu", alpineArch: "x86_64", uname: "x86_64",
		multiarch: "x86_64-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "x86_64-linux-gnu-gcc",
		cross:  []string{"gcc-x86-64-linux-gnu", "libc6-dev-amd64-cross"},
		libssl: []string{"libssl-dev:amd64"},
	},
	{
		spec: "linux/amd64/v4", canonical: "linux/amd64/v4",
		goEnv: []string{"GOAMD64=v4", "GOARCH=amd64", "GOOS=linux"},
		rust:  "x86_64-unknown-linux-gnu", rustMusl: "x86_64-unknown-linux-musl",
		debianArch: "amd64", gnuTriple: "x86_64-linux-gnu", alpineArch: "x86_64", uname: "x86_64",
		multiarch: "x86_64-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "x86_64-linux-gnu-gcc",
		cross:  []string{"gcc-x86-64-linux-gnu", "libc6-dev-amd64-cross"},
		libssl: []string{"libssl-dev:amd64"},
	},
	{
		spec: "linux/arm64/v8", canonical: "linux/arm64",
		goEnv: []string{"GOARCH=arm64", "GOOS=linux"},
		rust:  "aarch64-unknown-linux-gnu", rustMusl: "aarch64-unknown-linux-musl",
		debianArch: "arm64", gnuTriple: "aarch64-linux-gnu", alpineArch: "aarch64", uname: "aarch64",
		multiarch: "aarch64-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "aarch64-linux-gnu-gcc",
		cross:  []string{"gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"},
		libssl: []string{"libssl-dev:arm64"},
	},
	{
		spec: "linux/arm", canonical: "linux/arm/v7",
		goEnv: []string{"GOARCH=arm", "GOARM=7", "GOOS=linux"},
		rust:  "armv7-unknown-linux-gnueabihf", rustMusl: "armv7-unknown-linux-musleabihf",
		debianArch: "armhf", gnuTriple: "arm-linux-gnueabihf", alpineArch: "armv7", uname: "armv7l",
		multiarch: "arm-linux-gnueabihf", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB, Float: platforms.FloatHard},
		cc:     "arm-linux-gnueabihf-gcc",
		cross:  []string{"gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"},
		libssl: []string{"libssl-dev:armhf"},
	},
	{
		spec: "linux/arm/v6", canonical: "linux/arm/v6",
		goEnv: []string{"GOARCH=arm", "GOARM=6", "GOOS=linux"},
		rust:  "arm-unknown-linux-gnueabi", rustMusl: "arm-unknown-linux-musleabihf",
		debianArch: "armel", gnuTriple: "arm-linux-gnueabi", alpineArch: "armhf", uname: "armv6l",
		multiarch: "arm-linux-gnueabi", binary: platforms.BinaryELF,
		// Soft-float for Debian armel, hard-float for Alpine armhf: either.
		elf:    platforms.ELFHeader{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB, Float: platforms.FloatAny},
		cc:     "arm-linux-gnueabi-gcc",
		cross:  []string{"gcc-arm-linux-gnueabi", "libc6-dev-armel-cross"},
		libssl: []string{"libssl-dev:armel"},
	},
	{
		spec: "linux/arm/v5", canonical: "linux/arm/v5",
		goEnv: []string{"GOARCH=arm", "GOARM=5", "GOOS=linux"},
		rust:  "armv5te-unknown-linux-gnueabi", rustMusl: "armv5te-unknown-linux-musleabi",
		debianArch: "armel", gnuTriple: "arm-linux-gnueabi", alpineArch: "", uname: "armv5l",
		multiarch: "arm-linux-gnueabi", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB, Float: platforms.FloatSoft},
		cc:     "arm-linux-gnueabi-gcc",
		cross:  []string{"gcc-arm-linux-gnueabi", "libc6-dev-armel-cross"},
		libssl: []string{"libssl-dev:armel"},
	},
	{
		spec: "linux/386", canonical: "linux/386",
		goEnv: []string{"GOARCH=386", "GOOS=linux"},
		rust:  "i686-unknown-linux-gnu", rustMusl: "i686-unknown-linux-musl",
		debianArch: "i386", gnuTriple: "i686-linux-gnu", alpineArch: "x86", uname: "i686",
		multiarch: "i386-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_386, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB},
		cc:     "i686-linux-gnu-gcc",
		cross:  []string{"gcc-i686-linux-gnu", "libc6-dev-i386-cross"},
		libssl: []string{"libssl-dev:i386"},
	},
	{
		spec: "linux/ppc64le", canonical: "linux/ppc64le",
		goEnv: []string{"GOARCH=ppc64le", "GOOS=linux"},
		rust:  "powerpc64le-unknown-linux-gnu", rustMusl: "powerpc64le-unknown-linux-musl",
		debianArch: "ppc64el", gnuTriple: "powerpc64le-linux-gnu", alpineArch: "ppc64le", uname: "ppc64le",
		multiarch: "powerpc64le-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_PPC64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "powerpc64le-linux-gnu-gcc",
		cross:  []string{"gcc-powerpc64le-linux-gnu", "libc6-dev-ppc64el-cross"},
		libssl: []string{"libssl-dev:ppc64el"},
	},
	{
		spec: "linux/s390x", canonical: "linux/s390x",
		goEnv: []string{"GOARCH=s390x", "GOOS=linux"},
		rust:  "s390x-unknown-linux-gnu", rustMusl: "s390x-unknown-linux-musl",
		debianArch: "s390x", gnuTriple: "s390x-linux-gnu", alpineArch: "s390x", uname: "s390x",
		multiarch: "s390x-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_S390, Class: elf.ELFCLASS64, Data: elf.ELFDATA2MSB},
		cc:     "s390x-linux-gnu-gcc",
		cross:  []string{"gcc-s390x-linux-gnu", "libc6-dev-s390x-cross"},
		libssl: []string{"libssl-dev:s390x"},
	},
	{
		spec: "linux/riscv64", canonical: "linux/riscv64",
		goEnv: []string{"GOARCH=riscv64", "GOOS=linux"},
		rust:  "riscv64gc-unknown-linux-gnu", rustMusl: "riscv64gc-unknown-linux-musl",
		debianArch: "riscv64", gnuTriple: "riscv64-linux-gnu", alpineArch: "riscv64", uname: "riscv64",
		multiarch: "riscv64-linux-gnu", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_RISCV, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "riscv64-linux-gnu-gcc",
		cross:  []string{"gcc-riscv64-linux-gnu", "libc6-dev-riscv64-cross"},
		libssl: []string{"libssl-dev:riscv64"},
	},
	{
		spec: "linux/mips64le", canonical: "linux/mips64le",
		goEnv: []string{"GOARCH=mips64le", "GOOS=linux"},
		rust:  "mips64el-unknown-linux-gnuabi64", rustMusl: "mips64el-unknown-linux-muslabi64",
		debianArch: "mips64el", gnuTriple: "mips64el-linux-gnuabi64", alpineArch: "mips64le", uname: "mips64",
		multiarch: "mips64el-linux-gnuabi64", binary: platforms.BinaryELF,
		elf:    platforms.ELFHeader{Machine: elf.EM_MIPS, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB},
		cc:     "mips64el-linux-gnuabi64-gcc",
		cross:  []string{"gcc-mips64el-linux-gnuabi64", "libc6-dev-mips64el-cross"},
		libssl: []string{"libssl-dev:mips64el"},
	},
	{
		spec: "windows/amd64", canonical: "windows/amd64",
		goEnv:  []string{"GOARCH=amd64", "GOOS=windows"},
		binary: platforms.BinaryPE,
	},
	{
		spec: "darwin/arm64", canonical: "darwin/arm64",
		goEnv:  []string{"GOARCH=arm64", "GOOS=darwin"},
		binary: platforms.BinaryMachO,
	},
}

func TestToolchainRows(t *testing.T) {
	for _, r := range platformRows {
		t.Run(r.spec, func(t *testing.T) {
			p, err := platforms.Parse(r.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", r.spec, err)
			}
			tc, err := platforms.ToolchainFor(p)
			if err != nil {
				t.Fatalf("ToolchainFor(%s): %v", r.spec, err)
			}
			if got := platforms.Format(tc.Platform); got != r.canonical {
				t.Errorf("Platform = %s, want %s", got, r.canonical)
			}
			check := func(name, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			check("RustTarget", tc.RustTarget, r.rust)
			check("RustMuslTarget", tc.RustMuslTarget, r.rustMusl)
			check("RustTargetFor(false)", tc.RustTargetFor(false), r.rust)
			check("RustTargetFor(true)", tc.RustTargetFor(true), r.rustMusl)
			check("DebianArch", tc.DebianArch, r.debianArch)
			check("GNUTriple", tc.GNUTriple, r.gnuTriple)
			check("MultiarchTuple", tc.MultiarchTuple, r.multiarch)
			check("AlpineArch", tc.AlpineArch, r.alpineArch)
			check("UnameMachine", tc.UnameMachine, r.uname)
			check("CC", tc.CC(), r.cc)
			check("Binary", string(tc.Binary), string(r.binary))
			if tc.ELF != r.elf {
				t.Errorf("ELF = %s (%d), want %s (%d)", tc.ELF, tc.ELF.Float, r.elf, r.elf.Float)
			}
			if got := tc.GoEnv(); !slices.Equal(got, r.goEnv) {
				t.Errorf("GoEnv() = %q, want %q", got, r.goEnv)
			}
			// The Go fields themselves, against the env column.
			var env []string
			for _, kv := range [][2]string{{"GOAMD64", tc.GOAMD64}, {"GOARCH", tc.GOARCH}, {"GOARM", tc.GOARM}, {"GOOS", tc.GOOS}} {
				if kv[1] != "" {
					env = append(env, kv[0]+"="+kv[1])
				}
			}
			if !slices.Equal(env, r.goEnv) {
				t.Errorf("GOOS/GOARCH/GOARM/GOAMD64 = %q, want %q", env, r.goEnv)
			}
			if got := tc.DebianCrossPackages(); !slices.Equal(got, r.cross) {
				t.Errorf("DebianCrossPackages() = %q, want %q", got, r.cross)
			}
			if got := tc.DebianMultiarch("libssl-dev"); !slices.Equal(got, r.libssl) {
				t.Errorf(`DebianMultiarch("libssl-dev") = %q, want %q`, got, r.libssl)
			}
		})
	}
}

// TestRowsCoverTable fails when a row is added to the table without a test
// row here, or the table's order changes.
func TestRowsCoverTable(t *testing.T) {
	var got, want []string
	for _, p := range platforms.Supported() {
		got = append(got, platforms.Format(p))
	}
	for _, r := range platformRows {
		want = append(want, r.canonical)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Supported() = %q\nwant %q", got, want)
	}
}

func TestSupportedIsNormalised(t *testing.T) {
	for _, p := range platforms.Supported() {
		n, err := platforms.Normalize(p)
		if err != nil {
			t.Errorf("Normalize(%s): %v", platforms.Format(p), err)
			continue
		}
		if !reflect.DeepEqual(n, p) {
			t.Errorf("Normalize(%+v) = %+v, want it unchanged", p, n)
		}
	}
}

func TestSupportedIsACopy(t *testing.T) {
	ps := platforms.Supported()
	ps[0].Architecture = "changed"
	if got := platforms.Format(platforms.Supported()[0]); got != "linux/amd64" {
		t.Errorf("Supported()[0] = %s after changing a returned slice, want linux/amd64", got)
	}
}

func TestToolchainForNormalises(t *testing.T) {
	tc, err := platforms.ToolchainFor(ocispec.Platform{OS: "Linux", Architecture: "ARMHF"})
	if err != nil {
		t.Fatal(err)
	}
	want := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	if !reflect.DeepEqual(tc.Platform, want) {
		t.Errorf("Platform = %+v, want %+v", tc.Platform, want)
	}
	if tc.GOARM != "7" {
		t.Errorf("GOARM = %q, want 7", tc.GOARM)
	}
}

func TestToolchainForUnsupported(t *testing.T) {
	_, err := platforms.ToolchainFor(ocispec.Platform{OS: "linux", Architecture: "sparc64"})
	want := `"linux/sparc64": unsupported platform: architecture "sparc64" (supported: ` + supportedText + `)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestCargoEnv(t *testing.T) {
	for _, tt := range []struct {
		spec string
		musl bool
		want []string
	}{
		{"linux/arm/v7", false, []string{
			"AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar",
			"CARGO_BUILD_TARGET=armv7-unknown-linux-gnueabihf",
			"CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc",
			"CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc",
			"PKG_CONFIG_ALLOW_CROSS=1",
			"PKG_CONFIG_PATH=/usr/lib/arm-linux-gnueabihf/pkgconfig",
			"PKG_CONFIG_SYSROOT_DIR=/",
		}},
		{"linux/arm/v7", true, []string{
			"AR_armv7_unknown_linux_musleabihf=arm-linux-gnueabihf-ar",
			"CARGO_BUILD_TARGET=armv7-unknown-linux-musleabihf",
			"CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_LINKER=arm-linux-gnueabihf-gcc",
			"CC_armv7_unknown_linux_musleabihf=arm-linux-gnueabihf-gcc",
			"PKG_CONFIG_ALLOW_CROSS=1",
			"PKG_CONFIG_PATH=/usr/lib/arm-linux-gnueabihf/pkgconfig",
			"PKG_CONFIG_SYSROOT_DIR=/",
		}},
		{"linux/386", false, []string{
			"AR_i686_unknown_linux_gnu=i686-linux-gnu-ar",
			"CARGO_BUILD_TARGET=i686-unknown-linux-gnu",
			"CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc",
			"CC_i686_unknown_linux_gnu=i686-linux-gnu-gcc",
			"PKG_CONFIG_ALLOW_CROSS=1",
			"PKG_CONFIG_PATH=/usr/lib/i386-linux-gnu/pkgconfig",
			"PKG_CONFIG_SYSROOT_DIR=/",
		}},
		{"linux/amd64/v3", false, []string{
			"AR_x86_64_unknown_linux_gnu=x86_64-linux-gnu-ar",
			"CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu",
			"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc",
			"CC_x86_64_unknown_linux_gnu=x86_64-linux-gnu-gcc",
			"PKG_CONFIG_ALLOW_CROSS=1",
			"PKG_CONFIG_PATH=/usr/lib/x86_64-linux-gnu/pkgconfig",
			"PKG_CONFIG_SYSROOT_DIR=/",
		}},
		{"linux/mips64le", true, []string{
			"AR_mips64el_unknown_linux_muslabi64=mips64el-linux-gnuabi64-ar",
			"CARGO_BUILD_TARGET=mips64el-unknown-linux-muslabi64",
			"CARGO_TARGET_MIPS64EL_UNKNOWN_LINUX_MUSLABI64_LINKER=mips64el-linux-gnuabi64-gcc",
			"CC_mips64el_unknown_linux_muslabi64=mips64el-linux-gnuabi64-gcc",
			"PKG_CONFIG_ALLOW_CROSS=1",
			"PKG_CONFIG_PATH=/usr/lib/mips64el-linux-gnuabi64/pkgconfig",
			"PKG_CONFIG_SYSROOT_DIR=/",
		}},
		{"windows/amd64", false, nil},
		{"darwin/arm64", true, nil},
	} {
		tc, err := platforms.ToolchainFor(platforms.MustParse(tt.spec))
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.CargoEnv(tt.musl); !slices.Equal(got, tt.want) {
			t.Errorf("%s: CargoEnv(%v) =\n%q\nwant\n%q", tt.spec, tt.musl, got, tt.want)
		}
	}
}

func TestDebianMultiarch(t *testing.T) {
	tc, err := platforms.ToolchainFor(platforms.MustParse("linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	got := tc.DebianMultiarch("libssl-dev", "zlib1g-dev")
	want := []string{"libssl-dev:arm64", "zlib1g-dev:arm64"}
	if !slices.Equal(got, want) {
		t.Errorf("DebianMultiarch = %q, want %q", got, want)
	}
	if got := tc.DebianMultiarch(); got != nil {
		t.Errorf("DebianMultiarch() = %q, want nil", got)
	}
	win, err := platforms.ToolchainFor(platforms.MustParse("windows/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if got := win.DebianMultiarch("libssl-dev"); got != nil {
		t.Errorf("windows DebianMultiarch = %q, want nil", got)
	}
}
