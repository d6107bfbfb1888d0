package integration

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// The run checks of WithVerify (issue 19): a binary of the right
// architecture that cannot start in its image fails the build before
// export, naming what is missing.

// glibcFloorTarget builds the C program artifact of testdata/glibcfloor
// with Debian trixie's cross gcc (glibc 2.41) into a bookworm runtime
// image (glibc 2.36), at /usr/local/bin/app.
func glibcFloorTarget(artifact string, all []platforms.Toolchain) solver.TargetFunc {
	return func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		builder, err := llb.ResolveBase(ctx, tg.Resolver, "debian:trixie-slim", tg.BuildPlatform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		base, err := llb.ResolveBase(ctx, tg.Resolver, "debian:bookworm-slim", tg.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		tc, err := platforms.ToolchainFor(tg.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		src := bk.Local("context", bk.LocalUniqueID("crossllb-integration-glibcfloor"))
		compile := llb.CCompile(src, builder, artifact, tc, all, llb.WithCCommand("make", artifact))
		rt := llb.RuntimeStage(base, []llb.Artifact{{From: compile, Path: "/" + artifact, Dest: "/usr/local/bin/app", Mode: 0o755}})
		return rt, llb.ImageConfig(base, llb.ImageSpec{Entrypoint: []string{"/usr/local/bin/app"}}), nil
	}
}

// TestVerifyGlibcFloor: built by a trixie toolchain, a program that uses
// only old symbols runs on bookworm and passes; one that calls strlcpy
// (GLIBC_2.38) fails the build naming the version and the image's glibc,
// on every platform.
func TestVerifyGlibcFloor(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 30*time.Minute)
	c := connect(t, ctx)
	var targets []ocispec.Platform
	var all []platforms.Toolchain
	for _, ct := range cTargets {
		p := platforms.MustParse(ct.platform)
		tc, err := platforms.ToolchainFor(p)
		if err != nil {
			t.Fatal(err)
		}
		targets, all = append(targets, p), append(all, tc)
	}
	build := func(artifact string) (*solver.Result, string, error) {
		var log bytes.Buffer
		res, err := c.Build(ctx, targets, glibcFloorTarget(artifact, all),
			solver.WithLocal("context", "testdata/glibcfloor"),
			solver.WithVerify("/usr/local/bin/app"),
			solver.WithOutput(solver.OCITar(filepath.Join(t.TempDir(), artifact+".tar"))),
			solver.WithProgress("plain", &log))
		return res, log.String(), err
	}

	res, log, err := build("plain")
	if err != nil {
		t.Fatalf("a program that needs no new glibc symbol, built on trixie for bookworm: %v\n%s", err, lastLines(log, 40))
	}
	if len(res.Verified) != len(targets) {
		t.Fatalf("verified %+v, want one binary per target", res.Verified)
	}
	for _, v := range res.Verified {
		id := platforms.Format(v.Platform)
		if v.ImageGlibc != "2.36" {
			t.Errorf("%s: image glibc %q, want bookworm's 2.36", id, v.ImageGlibc)
		}
		if v.GlibcNeeded == "" || versionLess("2.36", v.GlibcNeeded) {
			t.Errorf("%s: glibc needed %q, want a version no newer than 2.36", id, v.GlibcNeeded)
		}
		if v.Static || v.Interpreter == "" || v.Libraries["libc.so.6"] == "" {
			t.Errorf("%s: %+v, want a dynamic binary with its interpreter and libc.so.6 found", id, v)
		}
	}
	for _, p := range targets {
		tag := pushTarget(t, ctx, c, p, glibcFloorTarget("plain", all), "glibcfloor")
		if out := runOn(t, ctx, c, tag, p, "/usr/local/bin/app"); out != "plain" {
			t.Errorf("%s: plain printed %q", platforms.Format(p), out)
		}
	}

	_, log, err = build("strl")
	if err == nil {
		t.Fatal("a program that needs GLIBC_2.38 passed verification in a glibc 2.36 image")
	}
	want := regexp.MustCompile(`linux/[a-z0-9/]+: /usr/local/bin/app needs GLIBC_2\.38, but the image has glibc 2\.36 \(/[^ ]*libc\.so\.6 defines no such version\): build with a builder image whose glibc is no newer than the runtime image's`)
	if !want.MatchString(err.Error()) {
		t.Errorf("error %q does not name the version and the image's glibc (want %s)", err, want)
	}
}

// pushTarget builds one platform of fn and pushes it under a fresh tag
// (what runOn runs).
func pushTarget(t *testing.T, ctx context.Context, c *solver.Client, p ocispec.Platform, fn solver.TargetFunc, repo string) string {
	t.Helper()
	tag := registryAddr(t) + "/crossllb-test/" + repo + ":" + strings.ReplaceAll(platforms.Format(p), "/", "-") + "-" + time.Now().Format("150405.000000000")
	var log bytes.Buffer
	if _, err := c.Build(ctx, []ocispec.Platform{p}, fn, solver.WithLocal("context", "testdata/glibcfloor"),
		solver.WithOutput(solver.Registry(tag, solver.Insecure())), solver.WithProgress("plain", &log)); err != nil {
		t.Fatalf("pushing %s: %v\n%s", tag, err, lastLines(log.String(), 30))
	}
	return tag
}

// versionLess compares dotted versions numerically.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x = atoi(pa[i])
		}
		if i < len(pb) {
			y = atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return n
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// TestCargoOnScratchNamesMissingInterpreter: the hello crate links glibc
// dynamically; into scratch it would fail at run time with "exec
// /usr/local/bin/hello: no such file or directory". The build fails before
// export naming the interpreter, and writes nothing. With a Debian runtime
// and --static, it fails as not static.
func TestCargoOnScratchNamesMissingInterpreter(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	bin := buildCargoExample(t)
	dir := t.TempDir()
	_, errOut, err := runCargoExample(t, ctx, bin, "--platform", "linux/amd64,linux/arm64,linux/arm/v7",
		"--runtime-image", "scratch", "--output", "type=oci,dest="+filepath.Join(dir, "hello.tar"))
	if err == nil {
		t.Fatal("a dynamically linked binary into scratch passed verification")
	}
	want := regexp.MustCompile(`linux/(amd64|arm64|arm/v7): /usr/local/bin/hello is dynamically linked \(interpreter (/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1|/lib/ld-linux-armhf\.so\.3)\), but the image has no (/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1|/lib/ld-linux-armhf\.so\.3)`)
	if !want.MatchString(errOut) {
		t.Errorf("the error does not name the missing interpreter (want %s):\n%s", want, lastLines(errOut, 20))
	}
	if !strings.Contains(errOut, "build it static") {
		t.Errorf("the error does not say what to do:\n%s", lastLines(errOut, 20))
	}
	noLeftovers(t, dir)

	_, errOut, err = runCargoExample(t, ctx, bin, "--platform", "linux/arm64", "--static", "--output", "type=oci,dest="+filepath.Join(dir, "hello.tar"))
	if err == nil {
		t.Fatal("--static passed a dynamically linked binary")
	}
	if !strings.Contains(errOut, "linux/arm64: /usr/local/bin/hello must be static but is dynamically linked (interpreter /lib/ld-linux-aarch64.so.1; needs ") {
		t.Errorf("the error does not say the binary is not static:\n%s", lastLines(errOut, 20))
	}
	noLeftovers(t, dir)
}
