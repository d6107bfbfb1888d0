package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The report names the commit the presets were built from; a checkout with
// uncommitted changes says so.
func TestGitDescribe(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=bench", "-c", "user.email=bench@example.invalid"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	file := filepath.Join(repo, "a")
	if err := os.WriteFile(file, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "a")
	git("commit", "-q", "-m", "one")
	head := git("rev-parse", "--short", "HEAD")
	if got := gitDescribe(ctx, repo); got != head {
		t.Errorf("gitDescribe = %q, want %q", got, head)
	}
	if err := os.WriteFile(file, []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := gitDescribe(ctx, repo); got != head+"-dirty" {
		t.Errorf("with a change: gitDescribe = %q, want %q", got, head+"-dirty")
	}
	if got := gitDescribe(ctx, t.TempDir()); !strings.HasPrefix(got, "unknown (") {
		t.Errorf("outside a checkout: gitDescribe = %q, want unknown (...)", got)
	}
}
