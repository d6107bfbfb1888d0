package integration

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestGobuildTarToStdout: --output type=oci,dest=- streams the OCI tar to
// standard output, as buildx does; the summary and the progress go to
// standard error, and no file named "-" appears.
func TestGobuildTarToStdout(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, gobuildBin, "--addr", buildkitHost(t), "--progress", "plain",
		"--platform", helloPlatforms(), "--builder-image", registryAddr(t)+"/library/golang:1.26-bookworm",
		"--output", "type=oci,dest=-,name=127.0.0.1:5000/stdout:v1")
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gobuild --output type=oci,dest=-: %v\n%s", err, lastLines(errb.String(), 30))
	}
	files := map[string][]byte{}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("standard output is not a tar: %v", err)
		}
		if h.Name == "index.json" || h.Name == "oci-layout" {
			if files[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != 1 || files["oci-layout"] == nil {
		t.Fatalf("the tar on standard output is not an OCI layout: index.json %q (%v), oci-layout %q", files["index.json"], err, files["oci-layout"])
	}
	summary := false
	for _, line := range strings.Split(errb.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "index" && f[1] == idx.Manifests[0].Digest.String() {
			summary = true
		}
	}
	if !summary {
		t.Errorf("standard error has no summary naming the index %s:\n%s", idx.Manifests[0].Digest, lastLines(errb.String(), 6))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the working directory has %v, want nothing (no file named \"-\")", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error(`a file named "-" was written`)
	}
}

// TestGobuildInterruptExits130: SIGINT cancels the build and the example
// exits with 130, as a shell reports an interrupted command.
func TestGobuildInterruptExits130(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	cmd := exec.CommandContext(ctx, gobuildBin, "--addr", buildkitHost(t), "--progress", "plain", "--no-cache",
		"--platform", helloPlatforms(), "--builder-image", registryAddr(t)+"/library/golang:1.26-bookworm",
		"--output", "type=oci,dest="+filepath.Join(t.TempDir(), "x.tar"))
	var errb lockedLog
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the build has started.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(errb.String(), "#1 ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("after SIGINT: %v, want exit status 130\n%s", err, lastLines(errb.String(), 10))
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr does not say the build was interrupted:\n%s", lastLines(errb.String(), 5))
	}
}

// TestGobuildQuietFailureNamesTheStep: with --progress quiet a failed
// compile says which step failed on which platform and what it printed
// (it said only `process "go build ..." did not complete successfully`).
// And a quiet build that succeeds prints nothing on stderr (containerd's
// fsverity warning was printed for OCI directories).
func TestGobuildQuietFailureNamesTheStep(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { notDefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	builder := registryAddr(t) + "/library/golang:1.26-bookworm"
	var out bytes.Buffer
	err := runGobuild(ctx, []string{"--addr", buildkitHost(t), "--progress", "quiet", "--context", dir,
		"--platform", "linux/arm64", "--builder-image", builder,
		"--output", "type=oci,dest=" + filepath.Join(t.TempDir(), "x.tar")}, &out)
	if err == nil {
		t.Fatal("a program that does not compile was built")
	}
	for _, want := range []string{`step "go build . (linux/arm64)" failed`, "./main.go:3:15: undefined: notDefined"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("quiet output lacks %q:\n%s", want, out.String())
		}
	}

	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, gobuildBin, "--addr", buildkitHost(t), "--progress", "quiet",
		"--platform", "linux/amd64", "--builder-image", builder,
		"--output", "type=oci,tar=false,dest="+filepath.Join(t.TempDir(), "layout"))
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gobuild: %v\n%s", err, errb.String())
	}
	if errb.Len() != 0 {
		t.Errorf("--progress quiet printed on stderr:\n%s", errb.String())
	}
}
