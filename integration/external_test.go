package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The library as another module sees it (issue 16): the README's snippets
// are compiled in a module of their own that requires crossllb through a
// replace directive, so only exported packages are reachable, then run
// against the test daemon.

// readmeSnippet returns the Go code block that follows the marker
// "<!-- snippet: NAME" in the README.
func readmeSnippet(t *testing.T, name string) string {
	t.Helper()
	dt, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- snippet: " + regexp.QuoteMeta(name) + "[^>]*-->\n```go\n(.*?)\n```")
	m := re.FindSubmatch(dt)
	if m == nil {
		t.Fatalf("README.md has no snippet %q (a ```go block after <!-- snippet: %s ... -->)", name, name)
	}
	return string(m[1])
}

// snippetProgram wraps snippets as functions of one main package; each is
// run when the program's first argument names it.
func snippetProgram(snippets map[string]string) string {
	var b strings.Builder
	b.WriteString(`package main

import (
	"context"
	"fmt"
	"os"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/llb/recipe"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// Every import is used by some snippet, not necessarily by each.
var (
	_ = bk.Scratch
	_ ocispec.Platform
	_ = llb.GoBinaryDir
	_ recipe.Builder
	_ = platforms.MustParse
	_ = os.Stderr
)

func main() {
	ctx := context.Background()
	var res *solver.Result
	var err error
	switch os.Args[1] {
`)
	for name := range snippets {
		b.WriteString("\tcase " + `"` + name + `"` + ":\n\t\tres, err = snippet_" + name + "(ctx)\n")
	}
	b.WriteString(`	default:
		fmt.Fprintln(os.Stderr, "no snippet", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(res.Index.Digest)
}
`)
	for name, code := range snippets {
		b.WriteString("\nfunc snippet_" + name + "(ctx context.Context) (*solver.Result, error) {\n")
		for line := range strings.Lines(code) {
			b.WriteString("\t" + line)
		}
		b.WriteString("\n\treturn res, err\n}\n")
	}
	return b.String()
}

func TestREADMESnippetsInAnotherModule(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	goMod := "module example.com/embedder\n\ngo 1.26.8\n\nrequire github.com/crossllb/crossllb v0.0.0\n\nreplace github.com/crossllb/crossllb => " + repo + "\n"
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	prog := snippetProgram(map[string]string{
		"recipe": readmeSnippet(t, "recipe"),
		"graph":  readmeSnippet(t, "graph"),
	})
	for f, dt := range map[string][]byte{"go.mod": []byte(goMod), "go.sum": sum, "main.go": []byte(prog)} {
		if err := os.WriteFile(filepath.Join(mod, f), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "embedder")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the README's snippets do not build in another module: %v\n%s\n%s", err, out, prog)
	}

	// Run in a copy of the hello module: the snippets build ".".
	work := t.TempDir()
	for _, f := range []string{"go.mod", "main.go"} {
		dt, err := os.ReadFile(filepath.Join("..", "examples", "gobuild", "testdata", "hello", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, out := range map[string]string{"recipe": "app.tar", "graph": "app-graph.tar"} {
		cmd := exec.CommandContext(ctx, bin, name)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "BUILDKIT_HOST="+buildkitHost(t))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("snippet %q: %v\n%s", name, err, lastLines(stderr.String(), 40))
		}
		if !strings.HasPrefix(strings.TrimSpace(stdout.String()), "sha256:") {
			t.Errorf("snippet %q printed %q, want the index digest", name, stdout.String())
		}
		layout := t.TempDir()
		untar(t, filepath.Join(work, out), layout)
		idx := onlyIndex(t, layout)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 2 {
			t.Errorf("snippet %q: %d manifests, want linux/amd64 and linux/arm64", name, len(im.Manifests))
		}
		// Every target's graph shares the context and the module
		// download: each is one vertex of the build.
		for _, step := range []string{"go mod download", "local://context"} {
			if n := countVertices(stderr.String(), step); n != 1 {
				t.Errorf("snippet %q: %d %q vertices, want one shared by both targets:\n%s", name, n, step, lastLines(stderr.String(), 60))
			}
		}
	}
}

// countVertices counts the distinct vertices of plain progress whose name
// contains name ("#5 [linux/amd64] go mod download" or "#5 go mod
// download").
func countVertices(log, name string) int {
	seen := map[string]bool{}
	re := regexp.MustCompile(`^#(\d+) (.*)$`)
	for line := range strings.Lines(log) {
		m := re.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil || seen[m[1]] {
			continue
		}
		if strings.Contains(m[2], name) && !strings.HasPrefix(m[2], "DONE") && !strings.HasPrefix(m[2], "CACHED") {
			seen[m[1]] = true
		}
	}
	return len(seen)
}
