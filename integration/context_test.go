package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossllb/crossllb/platforms"
)

// TestContextExcludes: what a real repository keeps out of its build
// context stays out. The program embeds its assets directory (go:embed
// all:assets) and prints what it got; the context has a .dockerignore, a
// nested .git and files only --exclude names.
func TestContextExcludes(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	reg := registryAddr(t)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":                  "module example.com/ctxtest\n\ngo 1.26\n",
		".dockerignore":           "# secrets stay home\nassets/secret.txt\n",
		"assets/a.txt":            "a",
		"assets/secret.txt":       "password",
		"assets/debug.log":        "noise",
		"assets/vendor/.git/HEAD": "ref: refs/heads/main",
		"main.go": `package main

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed all:assets
var assets embed.FS

func main() {
	fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fmt.Println(p)
		}
		return err
	})
}
`,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := fmt.Sprintf("%s/crossllb-test/ctxtest:%d", reg, time.Now().UnixNano())
	mustGobuild(t, ctx, "--context", dir, "--platform", "linux/amd64", "--exclude", "**/*.log",
		"--builder-image", reg+"/library/golang:1.26-bookworm", "--runtime-image", reg+"/library/debian:bookworm-slim",
		"--output", "type=image,name="+ref+",push=true,registry.insecure=true")
	c := connect(t, ctx)
	if got := runOn(t, ctx, c, ref, platforms.MustParse("linux/amd64"), "/usr/local/bin/ctxtest"); got != "assets/a.txt" {
		t.Errorf("the build saw the assets %q, want only assets/a.txt (.dockerignore, --exclude and nested .git left out)", got)
	}
}
