package solver

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseSourceDateEpoch(t *testing.T) {
	got, err := ParseSourceDateEpoch("1700000000\n")
	if err != nil || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("ParseSourceDateEpoch = %v, %v", got, err)
	}
	for _, bad := range []string{"", "yesterday", "-5", "1.5"} {
		if _, err := ParseSourceDateEpoch(bad); err == nil || !strings.Contains(err.Error(), "whole seconds") {
			t.Errorf("ParseSourceDateEpoch(%q) = %v", bad, err)
		}
	}
	if err := WithSourceDateEpoch(time.Time{})(&buildOptions{}); err == nil {
		t.Error("a zero epoch was accepted")
	}
}

func TestSourceDateEpochFromGit(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=@1600000000 +0000", "GIT_COMMITTER_DATE=@1600000000 +0000",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if _, err := SourceDateEpochFromGit(context.Background(), dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("outside a git work tree: %v", err)
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "x")
	got, err := SourceDateEpochFromGit(context.Background(), dir)
	if err != nil || got.Unix() != 1600000000 {
		t.Errorf("SourceDateEpochFromGit = %v, %v; want 1600000000", got.Unix(), err)
	}
}
