package solver

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperLocalEnv makes the test binary check one local and exit (see
// TestMain): TestLocalRefusesUnreadableFiles runs it as another user.
const helperLocalEnv = "CROSSLLB_TEST_CHECK_LOCAL"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperLocalEnv); dir != "" {
		if _, err := newBuildOptions([]BuildOption{WithLocal("context", dir)}); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("ok")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sent lists the files a local sends, as BuildKit's transfer walks it.
func sent(t *testing.T, o *buildOptions) []string {
	t.Helper()
	var out []string
	err := o.locals["context"].Walk(context.Background(), "", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// A .dockerignore at the context root is honoured with Docker's semantics
// (nested .git through **, exceptions with !), then LocalExclude.
func TestLocalExcludes(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dockerignore":   "**/.git\n*.log\n!keep.log\n",
		"main.go":         "package main",
		".git/HEAD":       "ref",
		"sub/.git/config": "x",
		"sub/lib.go":      "package sub",
		"debug.log":       "x",
		"keep.log":        "x",
		"data/big.bin":    "x",
	})
	o, err := newBuildOptions([]BuildOption{WithLocal("context", dir, LocalExclude("data"))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sent(t, o), []string{".dockerignore", "keep.log", "main.go", "sub/lib.go"}; !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	o, err = newBuildOptions([]BuildOption{WithLocal("context", dir, LocalWithoutDockerignore())})
	if err != nil {
		t.Fatal(err)
	}
	if got := sent(t, o); !slices.Contains(got, "sub/.git/config") || !slices.Contains(got, "debug.log") {
		t.Errorf("without the .dockerignore, sent %q", got)
	}
	for _, tc := range []struct {
		opt  LocalOption
		want string
	}{
		{LocalExclude("[z-a"), `local "context": exclude pattern "[z-a"`},
		{LocalExclude(" "), `local "context": exclude pattern: empty`},
	} {
		if _, err := newBuildOptions([]BuildOption{WithLocal("context", dir, tc.opt)}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
	}
}

// A file the user cannot read would arrive empty in the build: WithLocal
// refuses it, naming it, unless it is excluded. Root reads every file, so
// the check runs as nobody, in this test binary run again (TestMain).
func TestLocalRefusesUnreadableFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test switches to the nobody user: run it as root (make test does)")
	}
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil { // nobody must reach the context
			t.Fatal(err)
		}
	}
	writeTree(t, dir, map[string]string{
		".dockerignore":     "ignored.dat\n",
		"main.go":           "package main",
		"secret.go":         "package main",
		"ignored.dat":       "x",
		"private/notes.txt": "x",
	})
	for _, p := range []string{"secret.go", "ignored.dat"} {
		if err := os.Chmod(filepath.Join(dir, p), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A copy of this test binary that nobody may run (go test builds it in
	// a directory only root can enter).
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(dir), "solver.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), helperLocalEnv+"="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out, err := check()
	if err == nil {
		t.Fatalf("as nobody, a context with unreadable files passed: %s", out)
	}
	for _, want := range []string{`local "context": 2 path(s) in ` + dir, "secret.go", "private", "chmod a+r", ".dockerignore"} {
		if !strings.Contains(out, want) {
			t.Errorf("error %q does not contain %q", out, want)
		}
	}
	if strings.Contains(out, "ignored.dat") {
		t.Errorf("error %q names an excluded file", out)
	}
	// Readable again (and private excluded): it passes.
	if err := os.Chmod(filepath.Join(dir, "secret.go"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("ignored.dat\nprivate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(); err != nil || out != "ok" {
		t.Errorf("a readable context: %v: %s", err, out)
	}
}

// BenchmarkCheckReadable is the readability check's cost on a context of
// 100,000 files (the load test's size), next to the walk alone, which the
// context transfer does anyway. Root skips the check: run it as another
// user, e.g. go test -c -o /tmp/solver.test ./solver && cd /tmp &&
// setpriv --reuid=65534 --regid=65534 --clear-groups /tmp/solver.test
// -test.run x -test.bench CheckReadable
func BenchmarkCheckReadable(b *testing.B) {
	dir := b.TempDir()
	for i := range 100 {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range 1000 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d.go", j)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	fsys, err := localFS("context", dir, &localOptions{noDockerignore: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("walk", func(b *testing.B) {
		for b.Loop() {
			if err := fsys.Walk(context.Background(), "", func(string, fs.DirEntry, error) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("walk+access", func(b *testing.B) {
		for b.Loop() {
			if err := checkReadable(context.Background(), "context", dir, fsys); err != nil {
				b.Fatal(err)
			}
		}
	})
}
