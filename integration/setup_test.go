package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hackSetup runs hack/setup as a user would, with the environment the
// tests run in (its CROSSLLB_CACHE and registry port).
func hackSetup(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "../hack/setup")
	cmd.Env = os.Environ()
	return cmd
}

// TestSetupSerialisesRuns: while another hack/setup holds the cache's
// lock, a second one says so and waits; once the lock is free it runs to
// the end, finding the first one's work. And the daemons hack/setup
// started do not hold the lock (a later run would wait forever).
func TestSetupSerialisesRuns(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	cache := os.Getenv("CROSSLLB_CACHE")
	if cache == "" {
		t.Fatalf("CROSSLLB_CACHE is not set: %s", setupHint)
	}
	f, err := os.OpenFile(filepath.Join(cache, "setup.lock"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Free now: nothing left running (buildkitd, the registry) holds it.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("setup.lock is held with no hack/setup running (a daemon inherited it?): %v", err)
	}
	cmd := hackSetup(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("hack/setup ran to the end (%v) while another run held the lock:\n%s", err, stderr.String())
	case <-time.After(3 * time.Second):
	}
	if !strings.Contains(stderr.String(), "another hack/setup holds") {
		t.Errorf("a waiting hack/setup printed %q, want it to say it waits for another run", stderr.String())
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("hack/setup after the lock was released: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	// Every seeded image is reused, the one-platform trixie-slim (a
	// manifest, not an index) included.
	for _, want := range []string{"library/debian:bookworm-slim cached", "library/debian:trixie-slim cached", "library/golang:1.26-bookworm cached", "buildkitd already running"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the second hack/setup did not reuse the first's work: no %q in\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "building ") || strings.Contains(stderr.String(), "mmdebstrap ") {
		t.Errorf("the second hack/setup built again what the first had built:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "export BUILDKIT_HOST=") {
		t.Errorf("stdout %q has no export lines", stdout.String())
	}
}

// TestSetupErrorsNameTheToolsError: hack/setup's failures quote the
// tool's own last error line (mmdebstrap's and apt's "E: ..."), not a
// guess; and mmdebstrap's helper for foreign architectures is installed.
func TestSetupErrorsNameTheToolsError(t *testing.T) {
	log := filepath.Join(t.TempDir(), "mmdebstrap.log")
	if err := os.WriteFile(log, []byte("I: chroot architecture arm64 is not equal to amd64\nE: install arch-test for foreign architecture support\nattempt 1 of 3 failed: mmdebstrap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "-c", `. ../hack/lib.sh && last_error "$1"`, "bash", log).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "E: install arch-test for foreign architecture support" {
		t.Errorf("last_error = %q", out)
	}
	// arch-test answers for a foreign architecture: mmdebstrap runs it.
	if out, err := exec.Command("arch-test", "arm64").CombinedOutput(); err != nil {
		t.Errorf("arch-test arm64: %v: %s (hack/setup installs arch-test and registers QEMU)", err, out)
	}
}
