package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// mountTmpfs mounts a tmpfs of size (mount's size=, e.g. "64m") on a new
// directory and unmounts it when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "crossllb-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs on %s (the integration tests run as root): %v\n%s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v\n%s", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// fillerSource is a static program that writes incompressible data to its
// argument until the disk is full, says so, and exits 0 (as `dd ... ||
// true` would), so that what fails next is BuildKit's own write.
const fillerSource = `package main

import (
	"fmt"
	"math/rand/v2"
	"os"
)

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	n := 0
	for {
		r.Read(buf)
		if _, err := f.Write(buf); err != nil {
			fmt.Printf("filler: wrote %d MiB, then: %v\n", n, err)
			return
		}
		n++
	}
}
`

// fillerContext builds the filler into a new directory, to send as a
// build context: a rootfs with no base image to pull.
func fillerContext(t *testing.T, ctx context.Context) string {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(fillerSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(out, "fill"), "main.go")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the filler: %v\n%s", err, b)
	}
	return out
}

// A buildkitd whose root is a 64 MiB tmpfs, and a step that fills it: the
// build fails with an error that says "no space left on device", writes
// nothing, and the daemon stops cleanly.
// Not parallel: it unsets BUILDKIT_HOST to make Connect start a daemon.
func TestDaemonRootDiskFull(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	fillerDir := fillerContext(t, ctx)
	root := mountTmpfs(t, "64m")
	// Cleanups run last first: the daemon stops, then its leftovers go,
	// then the tmpfs is unmounted.
	t.Cleanup(func() { reapRoot(t, root) })
	t.Setenv("BUILDKIT_HOST", "")
	c, err := solver.Connect(ctx, "", solver.WithEmbedded(solver.EmbeddedConfig{Root: root}))
	if err != nil {
		t.Fatalf("starting a buildkitd on a 64 MiB tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("stopping the daemon: %v", err)
		}
	})
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		st := bk.Scratch().File(bk.Copy(bk.Local("context"), "/fill", "/fill")).
			Run(bk.Args([]string{"/fill", "/big"}), bk.IgnoreCache, bk.Platform(t.BuildPlatform), bk.WithCustomName("fill the disk")).Root()
		return st, ocispec.Image{}, nil
	}
	dir := t.TempDir()
	var plain bytes.Buffer
	start := time.Now()
	_, err = c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, fn,
		solver.WithLocal("context", fillerDir), solver.WithOutput(solver.OCITar(filepath.Join(dir, "image.tar"))),
		solver.WithProgress("plain", &plain))
	t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil {
		t.Fatal("a build that fills the daemon's disk succeeded")
	}
	if !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("the error does not say \"no space left on device\": %v\n%s", err, lastLines(plain.String(), 20))
	}
	if !strings.Contains(plain.String(), "filler: wrote") {
		t.Errorf("the step did not fill the disk:\n%s", lastLines(plain.String(), 20))
	}
	noLeftovers(t, dir)
}

// An OCI tar output whose directory is a nearly full tmpfs: the build
// fails saying so, and leaves nothing there (no truncated tar, no
// temporary file) but what was there before.
func TestOCITarOutputDiskFull(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	dir := mountTmpfs(t, "2m")
	if err := os.WriteFile(filepath.Join(dir, "already-here"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4<<20) // incompressible: the layer is 4 MiB
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Scratch().File(bk.Mkfile("/data", 0o644, data)), ocispec.Image{}, nil
	}
	_, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, fn,
		solver.WithOutput(solver.OCITar(filepath.Join(dir, "image.tar"))))
	if err == nil {
		t.Fatal("a 4 MiB image was written to a tmpfs with 1 MiB free")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("the error does not say \"no space left on device\": %v", err)
	}
	noLeftovers(t, dir, "already-here")
}
