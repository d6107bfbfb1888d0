package integration

import (
	"archive/tar"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// binfmtDir is where the kernel lists the binfmt_misc handlers that
// hack/setup registers for QEMU.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// withoutEmulation disables the QEMU handlers named (qemu-aarch64,
// qemu-arm) machine-wide, so that any step that executes an arm64 or arm
// binary fails with "exec format error". The returned func enables them
// again; it also runs when the test ends, whatever happened (and
// hack/setup re-enables a handler that a killed test left disabled).
func withoutEmulation(t *testing.T, handlers ...string) (restore func()) {
	t.Helper()
	var once sync.Once
	var disabled []string
	restore = func() {
		once.Do(func() {
			for _, p := range disabled {
				if err := os.WriteFile(p, []byte("1"), 0); err != nil {
					t.Errorf("enabling %s again: %v (run hack/setup to re-register it)", p, err)
				}
			}
		})
	}
	t.Cleanup(restore)
	for _, h := range handlers {
		p := filepath.Join(binfmtDir, h)
		dt, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("QEMU handler %s: %v: hack/setup registers it", h, err)
		}
		if !strings.HasPrefix(string(dt), "enabled") {
			t.Fatalf("QEMU handler %s is not enabled (%q): run hack/setup", h, strings.SplitN(string(dt), "\n", 2)[0])
		}
		if err := os.WriteFile(p, []byte("0"), 0); err != nil {
			t.Fatalf("disabling %s: %v", p, err)
		}
		disabled = append(disabled, p)
	}
	return restore
}

// TestNoEmulationRuntimeStage is issue 15's check. With QEMU's arm64 and
// arm handlers disabled on the machine, examples/cargo builds the Trow
// recipe (system user and group 333333 owning /data/layers, /data/scratch
// and /certs; ca-certificates and libssl3 from Debian) and examples/gobuild
// builds on debian:bookworm-slim, both for amd64, arm64 and arm/v7 with
// --emulation forbid. Then, with emulation back, each image is run and
// read: the binary runs as the service user; dpkg says the packages are
// installed; getent finds the user; the CA bundle, its configuration and
// its links equal those of an emulated install (examples/cargo
// --runtime-steps emulated, which runs apt-get and useradd on the target).
func TestNoEmulationRuntimeStage(t *testing.T) {
	ctx := testContext(t, 50*time.Minute)
	reg := registryAddr(t)
	debian := reg + "/library/debian:bookworm-slim"
	cargoBin := buildCargoExample(t)
	c := connect(t, ctx)
	stamp := time.Now().UnixNano()
	cargoTag := fmt.Sprintf("%s/crossllb-test/noemu-cargo:%d", reg, stamp)
	goTag := fmt.Sprintf("%s/crossllb-test/noemu-go:%d", reg, stamp)
	emuTag := fmt.Sprintf("%s/crossllb-test/noemu-cargo-emulated:%d", reg, stamp)
	var ps []string
	for _, ct := range cargoTargets {
		ps = append(ps, ct.platform)
	}
	recipe := []string{"--builder-image", debian, "--runtime-image", debian,
		"--apt-packages", "ca-certificates,libssl3",
		"--user", "trow:333333", "--dir", "/data/layers", "--dir", "/data/scratch", "--dir", "/certs"}
	push := func(tag string) string { return "type=image,name=" + tag + ",push=true,registry.insecure=true" }

	restore := withoutEmulation(t, "qemu-aarch64", "qemu-arm")
	// The guard can fail: an arm64 step really cannot run now.
	if out, err := tryRunAs(ctx, c, debian, platforms.MustParse("linux/arm64"), "0:0", "uname", "-m"); err == nil {
		t.Fatalf("with qemu-aarch64 disabled, an arm64 step still ran (printed %q): the test would prove nothing", out)
	} else if !strings.Contains(err.Error(), "exec format error") {
		t.Logf("an arm64 step without emulation failed with: %v", err)
	}

	cargoMeta := filepath.Join(t.TempDir(), "cargo.json")
	args := append([]string{"--platform", strings.Join(ps, ","), "--emulation", "forbid",
		"--output", push(cargoTag), "--metadata-file", cargoMeta}, recipe...)
	_, errOut, err := runCargoExample(t, ctx, cargoBin, args...)
	if err != nil {
		t.Fatalf("examples/cargo %v without emulation: %v\n%s", args, err, lastLines(errOut, 60))
	}
	for _, want := range []string{
		"add user trow 333333:333333, dirs /data/layers /data/scratch /certs (linux/arm64, natively on linux/amd64)",
		"apt-get install ca-certificates libssl3 (linux/arm/v7, natively on linux/amd64)",
	} { // vertex names: in the log also when BuildKit's cache has the step
		if !strings.Contains(errOut, want) {
			t.Errorf("the build log has no %q", want)
		}
	}
	if m := readMetadata(t, cargoMeta); len(m.Emulated) != 0 {
		t.Errorf("the metadata lists emulated steps: %v", m.Emulated)
	}
	goMeta := filepath.Join(t.TempDir(), "go.json")
	mustGobuild(t, ctx, "--platform", helloPlatforms(), "--emulation", "forbid",
		"--builder-image", reg+"/library/golang:1.26-bookworm", "--runtime-image", debian,
		"--output", push(goTag), "--metadata-file", goMeta)
	if m := readMetadata(t, goMeta); len(m.Emulated) != 0 {
		t.Errorf("gobuild's metadata lists emulated steps: %v", m.Emulated)
	}
	restore()

	// The same recipe the emulated way, for arm64: the reference install.
	emuArgs := append([]string{"--platform", "linux/arm64", "--runtime-steps", "emulated", "--output", push(emuTag)}, recipe...)
	if _, errOut, err := runCargoExample(t, ctx, cargoBin, emuArgs...); err != nil {
		t.Fatalf("examples/cargo %v: %v\n%s", emuArgs, err, lastLines(errOut, 60))
	} else if !strings.Contains(errOut, "apt-get install ca-certificates libssl3 (linux/arm64)") {
		t.Errorf("the emulated build log has no apt-get step on linux/arm64")
	}
	reference := pullImage(t, ctx, emuTag, platforms.MustParse("linux/arm64"))
	refFiles := caFiles(t, reference)

	for _, ct := range cargoTargets {
		p := platforms.MustParse(ct.platform)
		t.Run("cargo_"+strings.ReplaceAll(ct.platform, "/", "_"), func(t *testing.T) {
			img := pullImage(t, ctx, cargoTag, p)
			ref := digestRef(t, cargoTag, img)
			if out := runAs(t, ctx, c, ref, p, serviceUser, "/"+cargoBinary); out != ct.output {
				t.Errorf("the binary printed %q, want %q", out, ct.output)
			}
			hs, _ := imageEntries(t, img, "")
			for _, d := range serviceDirs {
				if h, ok := hs[d]; !ok || h.Typeflag != tar.TypeDir || fmt.Sprintf("%d:%d", h.Uid, h.Gid) != serviceUser {
					t.Errorf("/%s: %v, want a directory owned by %s", d, h, serviceUser)
				}
			}
			status := runOn(t, ctx, c, ref, p, "dpkg-query", "-W", "-f", "${Package} ${Status}\\n", "ca-certificates", "libssl3", "openssl")
			for _, pkg := range []string{"ca-certificates", "libssl3", "openssl"} {
				if !strings.Contains(status, pkg+" install ok installed") {
					t.Errorf("dpkg-query: %q, want %s installed", status, pkg)
				}
			}
			if out := runOn(t, ctx, c, ref, p, "getent", "passwd", "trow"); out != "trow:x:333333:333333::/nonexistent:/usr/sbin/nologin" {
				t.Errorf("getent passwd trow = %q", out)
			}
			if out := runOn(t, ctx, c, ref, p, "getent", "group", "trow"); out != "trow:x:333333:" {
				t.Errorf("getent group trow = %q", out)
			}
			// /etc/shadow and /etc/gshadow have the user, as useradd
			// writes them (the date of the last change aside).
			if out := runOn(t, ctx, c, ref, p, "sh", "-c", "grep ^trow: /etc/shadow | cut -d: -f1,2,4-; grep ^trow: /etc/gshadow"); out != "trow:!::::::\ntrow:!::" {
				t.Errorf("shadow entries %q", out)
			}
			files := caFiles(t, img)
			if n := strings.Count(files["etc/ssl/certs/ca-certificates.crt"], "BEGIN CERTIFICATE"); n < 100 {
				t.Errorf("the CA bundle has %d certificates", n)
			}
			for name, want := range refFiles {
				if got, ok := files[name]; !ok {
					t.Errorf("%s: in the emulated install, not in this one", name)
				} else if got != want {
					t.Errorf("%s differs from the emulated install's:\n%.200q\nwant\n%.200q", name, got, want)
				}
			}
			for name := range files {
				if _, ok := refFiles[name]; !ok {
					t.Errorf("%s: in this install, not in the emulated one", name)
				}
			}
		})
	}
	for _, h := range helloTargets {
		p := platforms.MustParse(h.platform)
		t.Run("go_"+strings.ReplaceAll(h.platform, "/", "_"), func(t *testing.T) {
			img := pullImage(t, ctx, goTag, p)
			if out := runOn(t, ctx, c, digestRef(t, goTag, img), p, "/"+helloBinary); out != h.output {
				t.Errorf("printed %q, want %q", out, h.output)
			}
		})
	}
}

// caFiles is what ca-certificates makes at install time in img: its
// configuration, the bundle, and every link in /etc/ssl/certs (by name,
// as "-> target").
func caFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	hs, conf := imageEntries(t, img, "etc/ca-certificates.conf")
	_, bundle := imageEntries(t, img, "etc/ssl/certs/ca-certificates.crt")
	out := map[string]string{
		"etc/ca-certificates.conf":          string(conf),
		"etc/ssl/certs/ca-certificates.crt": string(bundle),
	}
	for name, h := range hs {
		if strings.HasPrefix(name, "etc/ssl/certs/") && h.Typeflag == tar.TypeSymlink {
			out[name] = "-> " + h.Linkname
		}
	}
	if len(out) < 100 {
		t.Errorf("ca-certificates made only %v", slices.Sorted(maps.Keys(out)))
	}
	return out
}

// pullImage reads tag's image for p from the registry.
func pullImage(t *testing.T, ctx context.Context, tag string, p ocispec.Platform) v1.Image {
	t.Helper()
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}))
	if err != nil {
		t.Fatalf("pulling %s for %s: %v", tag, platforms.Format(p), err)
	}
	return img
}

// digestRef is tag's repository pinned to img's digest.
func digestRef(t *testing.T, tag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String()).String()
}

// TestEmulatedStepPassesForbid: a step the user keeps on the target with
// llb.Emulated is meant to be emulated, so the forbid policy lets it
// through (llb marks it with the key solver.AllowEmulation sets) and the
// report still lists it; the same step unmarked is refused.
func TestEmulatedStepPassesForbid(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	debian := registryAddr(t) + "/library/debian:bookworm-slim"
	arm64 := platforms.MustParse("linux/arm64")
	stage := func(opt llb.RuntimeOption) solver.TargetFunc {
		return func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
			base, err := llb.ResolveBase(ctx, tg.Resolver, debian, tg.Platform)
			if err != nil {
				return bk.State{}, ocispec.Image{}, err
			}
			return llb.RuntimeStage(base, nil, opt), llb.ImageConfig(base, llb.ImageSpec{}), nil
		}
	}
	dest := filepath.Join(t.TempDir(), "out.tar")
	res, err := c.Build(ctx, []ocispec.Platform{arm64}, stage(llb.Emulated(llb.WithRun("mkdir", "-p", "/srv/emulated"))),
		solver.WithEmulation(solver.EmulationForbid), solver.WithOutput(solver.OCITar(dest)))
	if err != nil {
		t.Fatalf("an llb.Emulated step under forbid: %v", err)
	}
	if len(res.Emulated) != 1 || !res.Emulated[0].Allowed || res.Emulated[0].Name != "mkdir -p /srv/emulated (linux/arm64)" {
		t.Errorf("emulation report %+v, want the one allowed mkdir step", res.Emulated)
	}
	_, err = c.Build(ctx, []ocispec.Platform{arm64}, stage(llb.WithRun("mkdir", "-p", "/srv/plain")),
		solver.WithEmulation(solver.EmulationForbid), solver.WithOutput(solver.OCITar(dest)))
	if err == nil || !strings.Contains(err.Error(), "mkdir -p /srv/plain (linux/arm64)") {
		t.Errorf("an unmarked emulated step under forbid: err = %v, want a refusal naming it", err)
	}
}

// TestEmulationWarnIsShown: EmulationWarn's warnings reach the progress
// output, after it (they were dropped on the way), one line each.
func TestEmulationWarnIsShown(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	debian := registryAddr(t) + "/library/debian:bookworm-slim"
	fn := func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		base, err := llb.ResolveBase(ctx, tg.Resolver, debian, tg.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		return llb.RuntimeStage(base, nil, llb.WithShell("mkdir -p /srv/warned\ntrue")), llb.ImageConfig(base, llb.ImageSpec{}), nil
	}
	for _, mode := range []string{"plain", "quiet"} {
		var progress lockedLog
		_, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/arm64")}, fn,
			solver.WithEmulation(solver.EmulationWarn), solver.WithProgress(mode, &progress),
			solver.WithOutput(solver.OCITar(filepath.Join(t.TempDir(), "x.tar"))))
		if err != nil {
			t.Fatal(err)
		}
		want := " - runs under emulation: /bin/sh -c mkdir -p /srv/warned ... on linux/arm64: /bin/sh -c mkdir -p /srv/warned ...\n"
		if !strings.Contains(progress.String(), want) {
			t.Errorf("--progress %s output lacks the warning %q:\n%q", mode, want, lastLines(progress.String(), 8))
		}
	}
}
