package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// build compiles one source file with argv (the output path appended) and
// returns the binary's sha256 and what it prints.
func buildAndRun(t *testing.T, dir string, argv ...string) ([32]byte, string) {
	t.Helper()
	out := filepath.Join(dir, "bin")
	cmd := exec.Command(argv[0], append(argv[1:], out)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%q: %v\n%s", argv, err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := exec.Command(out).Output()
	if err != nil {
		t.Fatalf("running the binary: %v", err)
	}
	return sha256.Sum256(bin), string(stdout)
}

// The one-file change must change the binary (so the steps after the
// compile run again, as for a real change) and nothing the program does:
// each nonce gives another binary that prints what the original printed.
func checkChange(t *testing.T, file string, pristine []byte, mutate func([]byte, string) ([]byte, error), argv ...string) {
	dir := t.TempDir()
	write := func(src []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if filepath.Ext(file) == ".go" {
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(pristine)
	sum0, out0 := buildAndRun(t, dir, argv...)
	seen := map[[32]byte]bool{sum0: true}
	for _, nonce := range []string{"1", "2"} {
		src, err := mutate(pristine, nonce)
		if err != nil {
			t.Fatal(err)
		}
		write(src)
		sum, out := buildAndRun(t, dir, argv...)
		if seen[sum] {
			t.Errorf("nonce %s: the binary is one built before: the change does not reach it", nonce)
		}
		seen[sum] = true
		if out != out0 {
			t.Errorf("nonce %s: the program prints %q, want %q as before the change", nonce, out, out0)
		}
	}
}

func TestGoChangeChangesTheBinary(t *testing.T) {
	src := []byte("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() { fmt.Println(len(os.Args)) }\n")
	checkChange(t, "main.go", src, goChange, "go", "build", "-trimpath", "-o")
}

func TestRustChangeChangesTheBinary(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "examples", "cargo", "testdata", "hello", "src", "main.rs"))
	if err != nil {
		t.Fatal(err)
	}
	rustc, err := exec.LookPath("rustc")
	if err != nil {
		home, _ := os.UserHomeDir()
		rustc = filepath.Join(home, ".cargo", "bin", "rustc")
		if _, err := os.Stat(rustc); err != nil {
			t.Fatalf("no rustc on PATH or in ~/.cargo/bin to check the Rust workload's change: %v", err)
		}
	}
	checkChange(t, "main.rs", src, rustChange, rustc, "-O", "main.rs", "-o")
	if _, err := rustChange(bytes.ReplaceAll(src, []byte("fn main() {"), []byte("fn main(){")), "1"); err == nil {
		t.Error("rustChange of a main.rs without \"fn main() {\\n\": no error")
	}
}

// Every contender builds the Rust service from the same crate sources:
// the Dockerfiles install exactly serviceCrates, which crossllb gets as
// --build-packages; the one-file change applies to its main.rs.
func TestServiceWorkloadMatchesDockerfiles(t *testing.T) {
	for _, name := range []string{"Dockerfile.rust-service-cross", "Dockerfile.rust-service-cross-cachemounts", "Dockerfile.rust-service-emulated"} {
		dt, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(string(dt), "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if f = strings.TrimSuffix(f, ";"); strings.HasPrefix(f, "librust-") || f == "pkg-config" {
					got = append(got, f)
				}
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(serviceCrates))
		if !slices.Equal(got, want) {
			t.Errorf("%s installs %q, want serviceCrates %q", name, got, want)
		}
	}
	w, err := prepareService(&config{cache: t.TempDir(), repo: ".."})
	if err != nil {
		t.Fatal(err)
	}
	src, err := w.mutate(w.pristine, "42")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("BENCH_CHANGE_42")) {
		t.Error("the service's one-file change does not reach its main.rs")
	}
	if !slices.Contains(w.crossllb, strings.Join(serviceCrates, ",")) {
		t.Errorf("crossllb's arguments %q lack the crate packages", w.crossllb)
	}
}
