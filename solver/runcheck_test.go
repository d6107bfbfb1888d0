package solver

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/continuity/fs"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/crossllb/crossllb/platforms"
)

// dirFS is an imageFS over a local directory, its symlinks resolved inside
// it as BuildKit resolves them inside a reference (continuity's RootPath).
type dirFS string

func (d dirFS) resolve(p string) (string, error) { return fs.RootPath(string(d), p) }

func (d dirFS) stat(_ context.Context, p string) (*fstypes.Stat, error) {
	fp, err := d.resolve(p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(fp)
	if err != nil {
		return nil, err
	}
	return &fstypes.Stat{Path: p, Mode: uint32(fi.Mode()), Size: fi.Size()}, nil
}

func (d dirFS) readAt(_ context.Context, p string, _ int64) io.ReaderAt {
	return readerAtFunc(func(b []byte, off int64) (int, error) {
		fp, err := d.resolve(p)
		if err != nil {
			return 0, err
		}
		f, err := os.Open(fp)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return f.ReadAt(b, off)
	})
}

func (d dirFS) readFile(_ context.Context, p string) ([]byte, error) {
	fp, err := d.resolve(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(fp)
}

func (d dirFS) glob(_ context.Context, dir, pattern string) ([]string, error) {
	fp, err := d.resolve(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(fp)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if ok, _ := path.Match(pattern, e.Name()); ok {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// hostRoot is an image root made of this machine's own loader and libc
// (a Debian amd64 host), laid out as in debian:bookworm-slim: an absolute
// /lib64 interpreter symlink into the multiarch directory, and the
// ld.so.conf include.
func hostRoot(t *testing.T) (dirFS, platforms.Toolchain) {
	t.Helper()
	tc, err := platforms.ToolchainFor(platforms.MustParse("linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	multi := filepath.Join(root, "lib", tc.MultiarchTuple)
	for _, lib := range []string{"ld-linux-x86-64.so.2", "libc.so.6"} {
		copyHostFile(t, filepath.Join("/lib", tc.MultiarchTuple, lib), filepath.Join(multi, lib))
	}
	mustSymlink(t, "/lib/"+tc.MultiarchTuple+"/ld-linux-x86-64.so.2", filepath.Join(root, "lib64", "ld-linux-x86-64.so.2"))
	writeFile(t, filepath.Join(root, "etc", "ld.so.conf"), "include /etc/ld.so.conf.d/*.conf\n")
	writeFile(t, filepath.Join(root, "etc", "ld.so.conf.d", "local.conf"), "# local libraries\n/opt/lib\n")
	return dirFS(root), tc
}

func copyHostFile(t *testing.T, from, to string) {
	t.Helper()
	dt, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("this test uses the host's %s (a Debian amd64 machine): %v", from, err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, dt, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// hostGlibc is the host's glibc version ("2.36").
func hostGlibc(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("getconf", "GNU_LIBC_VERSION").Output()
	if err != nil {
		t.Fatalf("getconf GNU_LIBC_VERSION: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[0] != "glibc" {
		t.Fatalf("getconf GNU_LIBC_VERSION printed %q", out)
	}
	return f[1]
}

// check runs checkRuns on the host file bin as if it were in root.
func check(t *testing.T, root dirFS, tc platforms.Toolchain, bin string, static bool) (runCheck, error) {
	t.Helper()
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return checkRuns(context.Background(), root, tc, "/usr/local/bin/app", f, static)
}

// trueBinary is a dynamically linked binary of the host: its interpreter
// and libc.so.6.
const trueBinary = "/bin/true"

func TestCheckRunsDynamicBinary(t *testing.T) {
	root, tc := hostRoot(t)
	rc, err := check(t, root, tc, trueBinary, false)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Static || rc.Interpreter != "/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("static %v interpreter %q, want /lib64/ld-linux-x86-64.so.2", rc.Static, rc.Interpreter)
	}
	if got, want := rc.Libraries["libc.so.6"], "/lib/"+tc.MultiarchTuple+"/libc.so.6"; got != want {
		t.Errorf("libc.so.6 found at %q, want %q (libraries %v)", got, want, rc.Libraries)
	}
	if rc.ImageGlibc != hostGlibc(t) {
		t.Errorf("image glibc %q, want the host's %s", rc.ImageGlibc, hostGlibc(t))
	}
	if rc.GlibcNeeded == "" {
		t.Error("no glibc version needed found in a glibc binary")
	}

	if _, err := check(t, root, tc, trueBinary, true); err == nil ||
		!strings.Contains(err.Error(), "linux/amd64: /usr/local/bin/app must be static but is dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2; needs libc.so.6)") {
		t.Errorf("static expected: %v", err)
	}
}

func TestCheckRunsMissingInterpreter(t *testing.T) {
	root, tc := hostRoot(t)
	// The symlink stays, dangling: the image has no loader.
	if err := os.Remove(filepath.Join(string(root), "lib", tc.MultiarchTuple, "ld-linux-x86-64.so.2")); err != nil {
		t.Fatal(err)
	}
	_, err := check(t, root, tc, trueBinary, false)
	want := "linux/amd64: /usr/local/bin/app is dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2), but the image has no /lib64/ld-linux-x86-64.so.2"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "build it static") {
		t.Errorf("err = %v, want %q and what to do", err, want)
	}
}

func TestCheckRunsMissingLibrary(t *testing.T) {
	root, tc := hostRoot(t)
	if err := os.Remove(filepath.Join(string(root), "lib", tc.MultiarchTuple, "libc.so.6")); err != nil {
		t.Fatal(err)
	}
	_, err := check(t, root, tc, trueBinary, false)
	for _, want := range []string{
		"linux/amd64: /usr/local/bin/app needs libc.so.6, which the image lacks (searched /opt/lib /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib /usr/lib /lib64 /usr/lib64)",
		"on Debian libc6",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
}

// TestCheckRunsLoaderPaths: a library is found through ld.so.conf's
// include, and one of another machine on the way is skipped, as the
// loader skips it.
func TestCheckRunsLoaderPaths(t *testing.T) {
	root, tc := hostRoot(t)
	multi := filepath.Join(string(root), "lib", tc.MultiarchTuple)
	if err := os.Rename(filepath.Join(multi, "libc.so.6"), filepath.Join(string(root), "usr", "lib", "libc.so.6")); err != nil {
		if err := os.MkdirAll(filepath.Join(string(root), "usr", "lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(multi, "libc.so.6"), filepath.Join(string(root), "usr", "lib", "libc.so.6")); err != nil {
			t.Fatal(err)
		}
	}
	// An arm64 ELF file named libc.so.6 earlier on the path, in /opt/lib
	// (from ld.so.conf.d/local.conf).
	arm := filepath.Join(t.TempDir(), "arm64")
	goBuild(t, arm, "arm64")
	copyHostFile(t, arm, filepath.Join(string(root), "opt", "lib", "libc.so.6"))
	rc, err := check(t, root, tc, trueBinary, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.Libraries["libc.so.6"]; got != "/usr/lib/libc.so.6" {
		t.Errorf("libc.so.6 found at %q, want /usr/lib/libc.so.6 (the arm64 one in /opt/lib skipped)", got)
	}

	// Without the decoy, /opt/lib (from the include) comes first.
	copyHostFile(t, filepath.Join(string(root), "usr", "lib", "libc.so.6"), filepath.Join(string(root), "opt", "lib", "libc.so.6"))
	if rc, err = check(t, root, tc, trueBinary, false); err != nil {
		t.Fatal(err)
	}
	if got := rc.Libraries["libc.so.6"]; got != "/opt/lib/libc.so.6" {
		t.Errorf("libc.so.6 found at %q, want /opt/lib/libc.so.6 (ld.so.conf.d/local.conf)", got)
	}
}

// goBuild builds a static Go program for linux/goarch into out.
func goBuild(t *testing.T, out, goarch string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/static\n")
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() { println(\"static\") }\n")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", goarch, err, b)
	}
}

func TestCheckRunsStaticBinary(t *testing.T) {
	tc, err := platforms.ToolchainFor(platforms.MustParse("linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "static")
	goBuild(t, bin, "amd64")
	// An empty image, as scratch is: a static binary needs nothing.
	rc, err := check(t, dirFS(t.TempDir()), tc, bin, true)
	if err != nil {
		t.Fatal(err)
	}
	if !rc.Static || rc.Interpreter != "" || len(rc.Libraries) != 0 || rc.GlibcNeeded != "" {
		t.Errorf("a static Go binary: %+v", rc)
	}
}

func TestDebianPackageHint(t *testing.T) {
	for lib, want := range map[string]string{
		"libssl.so.3":      "usually libssl3",
		"libcrypto.so.3":   "usually libssl3",
		"libssl.so.1.1":    "usually libssl1.1",
		"libz.so.1":        "zlib1g",
		"libpq.so.5":       "usually libpq5",
		"libsqlite3.so.0":  "usually libsqlite3-0",
		"libstdc++.so.6":   "libstdc++6",
		"libgcc_s.so.1":    "libgcc-s1",
		"libm.so.6":        "libc6",
		"weird":            "the package that ships weird",
		"libfoo_bar.so.12": "usually libfoo-bar12",
	} {
		if got := debianPackageHint(lib); got != want {
			t.Errorf("debianPackageHint(%q) = %q, want %q", lib, got, want)
		}
	}
}

// TestCheckRunsRunPath: a library shipped next to the binary and found
// through its DT_RUNPATH ($ORIGIN/../lib) is found there.
func TestCheckRunsRunPath(t *testing.T) {
	root, tc := hostRoot(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "foo.c"), "int foo(void) { return 42; }\n")
	writeFile(t, filepath.Join(src, "main.c"), "int foo(void);\nint main(void) { return foo() - 42; }\n")
	lib := filepath.Join(string(root), "usr", "local", "lib", "libfoo.so.1")
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(src, "app")
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o", lib, filepath.Join(src, "foo.c")},
		{"-o", bin, filepath.Join(src, "main.c"), lib, "-Wl,-rpath,$ORIGIN/../lib"},
	} {
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %q: %v\n%s", args, err, out)
		}
	}
	rc, err := check(t, root, tc, bin, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.Libraries["libfoo.so.1"]; got != "/usr/local/lib/libfoo.so.1" {
		t.Errorf("libfoo.so.1 found at %q, want /usr/local/lib/libfoo.so.1 through $ORIGIN/../lib (%v)", got, rc.Libraries)
	}
	if err := os.Remove(lib); err != nil {
		t.Fatal(err)
	}
	if _, err := check(t, root, tc, bin, false); err == nil || !strings.Contains(err.Error(), "needs libfoo.so.1, which the image lacks (searched /usr/local/lib /opt/lib ") {
		t.Errorf("without the library: %v", err)
	}
}
