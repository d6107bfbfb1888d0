package integration

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// openPty opens a pseudo-terminal of 120x40 and returns its terminal side
// (what a program writes its tty progress to) and what was written there,
// once the terminal side is closed.
func openPty(t *testing.T) (*os.File, func() string) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatalf("sizing the pseudo-terminal: %v", err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal's terminal side: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	out := make(chan string, 1)
	go func() {
		var b strings.Builder
		_, _ = io.Copy(&b, ptmx) // ends with EIO once the terminal side is closed
		out <- b.String()
	}()
	return tty, func() string {
		tty.Close()
		select {
		case s := <-out:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("the pseudo-terminal's output did not end")
			return ""
		}
	}
}

// TestEmulationWarnShownOnTTY: EmulationWarn's warning for each emulated
// step reaches a terminal too (tty progress), as it does plain and quiet
// progress (TestEmulationWarnIsShown): one line per step, after the
// progress.
func TestEmulationWarnShownOnTTY(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	debian := registryAddr(t) + "/library/debian:bookworm-slim"
	nonce := fmt.Sprint(time.Now().UnixNano())
	fn := func(_ context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Image(debian, bk.Platform(tg.Platform)).
			Run(bk.Shlexf("mkdir -p /srv/tty-%s", nonce), bk.Platform(tg.Platform)).
			Run(bk.Shlexf("touch /srv/tty-%s/two", nonce), bk.Platform(tg.Platform)).Root(), ocispec.Image{}, nil
	}
	tty, output := openPty(t)
	_, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/arm64")}, fn,
		solver.WithEmulation(solver.EmulationWarn), solver.WithProgress("tty", tty),
		solver.WithOutput(solver.OCITar(filepath.Join(t.TempDir(), "x.tar"))))
	got := output()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"mkdir -p /srv/tty-" + nonce, "touch /srv/tty-" + nonce + "/two"} {
		want := " - runs under emulation: " + step + " on linux/arm64: " + step
		if !strings.Contains(got, want) {
			t.Errorf("tty progress lacks the warning %q:\n%q", want, lastLines(got, 12))
		}
	}
	if !strings.Contains(got, "2 warning(s):") {
		t.Errorf("tty progress does not count 2 warnings:\n%q", lastLines(got, 12))
	}
}
