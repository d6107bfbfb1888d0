package platforms_test

import (
	"os"
	"strings"
	"testing"
)

func TestCheckBinaryAllFormats(t *testing.T) {
	bins := map[string]string{
		"windows/amd64": goBuild(t, "windows", "amd64", ""),
		"darwin/arm64":  goBuild(t, "darwin", "arm64", ""),
		"linux/arm64":   goBuild(t, "linux", "arm64", ""),
	}
	want := map[string]string{
		"windows/amd64": "PE machine 0x8664",
		"darwin/arm64":  "Mach-O CpuArm64",
		"linux/arm64":   "EM_AARCH64 ELFCLASS64 little-endian",
	}
	for spec, path := range bins {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := toolchain(t, spec).CheckBinary(f)
		f.Close()
		if err != nil || got != want[spec] {
			t.Errorf("%s: CheckBinary = %q, %v; want %q", spec, got, err, want[spec])
		}
	}
	// Each binary against another platform's row.
	for _, tc := range []struct{ spec, bin, want string }{
		{"darwin/arm64", "windows/amd64", "darwin/arm64: reading Mach-O binary"},
		{"windows/amd64", "linux/arm64", "windows/amd64: reading PE binary"},
		{"linux/amd64", "darwin/arm64", "linux/amd64: reading ELF binary"},
	} {
		f, err := os.Open(bins[tc.bin])
		if err != nil {
			t.Fatal(err)
		}
		_, err = toolchain(t, tc.spec).CheckBinary(f)
		f.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s binary against %s: %v, want %q", tc.bin, tc.spec, err, tc.want)
		}
	}
}
