package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/moby/buildkit/client"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// The hello crate prints std::env::consts::OS/ARCH and its uid and gid.
var cargoTargets = []struct{ platform, output string }{
	{"linux/amd64", "hello from linux/x86_64 uid=333333 gid=333333"},
	{"linux/arm64", "hello from linux/aarch64 uid=333333 gid=333333"},
	{"linux/arm/v7", "hello from linux/arm uid=333333 gid=333333"},
}

// The C program prints what its compiler's macros say.
var cTargets = []struct{ platform, output string }{
	{"linux/amd64", "hello from C on x86_64"},
	{"linux/arm64", "hello from C on aarch64"},
	{"linux/arm/v7", "hello from C on armv7 hard-float"},
}

const (
	cargoBinary = "usr/local/bin/hello"
	serviceUser = "333333:333333"
)

var serviceDirs = []string{"data/layers", "data/scratch", "certs"}

// buildCargoExample builds examples/cargo into a temporary directory.
func buildCargoExample(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cargo")
	cmd := exec.Command("go", "build", "-o", bin, "../examples/cargo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/cargo: %v\n%s", err, out)
	}
	return bin
}

func runCargoExample(t *testing.T, ctx context.Context, bin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--addr", buildkitHost(t), "--progress", "plain"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// runAs runs argv in image for platform p as user (uid:gid), emulated when
// foreign, and returns what it printed on stdout. The output directory is
// world-writable, so the command need not run as root.
func runAs(t testing.TB, ctx context.Context, c *solver.Client, image string, p ocispec.Platform, user string, argv ...string) string {
	t.Helper()
	out, err := tryRunAs(ctx, c, image, p, user, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryRunAs is runAs that returns the error.
func tryRunAs(ctx context.Context, c *solver.Client, image string, p ocispec.Platform, user string, argv ...string) (string, error) {
	outDir := bk.Scratch().File(bk.Mkdir("/o", 0o777))
	st := bk.Image(image, bk.Platform(p)).
		Run(bk.Args(append([]string{"/bin/sh", "-c", `"$@" > /out/stdout`, "sh"}, argv...)), bk.Platform(p), bk.User(user), bk.IgnoreCache,
			bk.WithCustomNamef("run %s as %s on %s", strings.Join(argv, " "), user, platforms.Format(p))).
		AddMount("/out", outDir, bk.SourcePath("/o"))
	def, err := st.Marshal(ctx, bk.Platform(p))
	if err != nil {
		return "", fmt.Errorf("marshal: %w", err)
	}
	dir, err := os.MkdirTemp("", "run-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	_, err = c.BuildKit().Solve(ctx, def, client.SolveOpt{
		Exports: []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: dir}},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("running %v as %s in %s for %s: %w", argv, user, image, platforms.Format(p), err)
	}
	dt, err := os.ReadFile(filepath.Join(dir, "o", "stdout"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(dt)), nil
}

// imageEntries returns the tar headers of the image's flattened
// filesystem, by path without leading "./" or "/", and the content of
// the file want.
func imageEntries(t *testing.T, img v1.Image, want string) (map[string]*tar.Header, []byte) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	hs := map[string]*tar.Header{}
	var content []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs, content
		}
		if err != nil {
			t.Fatal(err)
		}
		p := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"), "/")
		hs[p] = h
		if p == want {
			if content, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCargoExampleThreePlatforms builds the hello crate with examples/cargo
// for amd64, arm64 and arm/v7 (gnu), pushes the index to the local
// registry, and checks each image: it runs under its platform as the
// non-root service user and prints its architecture; the binary's ELF
// header matches the platform (arm/v7 hard-float); the OCI labels and
// annotations are there; the service directories are owned by the user.
func TestCargoExampleThreePlatforms(t *testing.T) {
	ctx := testContext(t, 40*time.Minute)
	bin := buildCargoExample(t)
	tag := fmt.Sprintf("%s/crossllb-test/cargo-hello:%d", registryAddr(t), time.Now().UnixNano())
	metaPath := filepath.Join(t.TempDir(), "meta.json")
	var ps []string
	for _, c := range cargoTargets {
		ps = append(ps, c.platform)
	}
	args := []string{"--platform", strings.Join(ps, ","),
		"--user", "trow:333333", "--dir", "/data/layers", "--dir", "/data/scratch", "--dir", "/certs",
		"--version", "1.2.3", "--revision", "0123abcd", "--source", "https://example.com/hello",
		"--authors", "crossllb tests", "--label", "com.example.extra=yes",
		"--annotation", "index:com.example.index=yes", "--source-date-epoch", epoch,
		"--output", "type=image,name=" + tag + ",push=true,registry.insecure=true", "--metadata-file", metaPath}
	if _, errOut, err := runCargoExample(t, ctx, bin, args...); err != nil {
		t.Fatalf("examples/cargo %v: %v\n%s", args, err, lastLines(errOut, 60))
	} else {
		// cargo ran on the build platform for every target.
		for _, c := range cargoTargets {
			tc, _ := platforms.ToolchainFor(platforms.MustParse(c.platform))
			if !strings.Contains(errOut, "cargo build --bin hello ("+c.platform+", "+tc.RustTarget+")") {
				t.Errorf("the build log has no cargo build step for %s", c.platform)
			}
			// Check that the runtime step ran for the target, not only
			// the file: on the build platform, natively for the others.
			step := "apt-get install ca-certificates (" + c.platform + ", natively on linux/amd64)"
			if c.platform == "linux/amd64" {
				step = "apt-get install ca-certificates (linux/amd64)"
			}
			if !strings.Contains(errOut, step) {
				t.Errorf("the build log has no runtime apt step for %s", c.platform)
			}
		}
	}
	meta := readMetadata(t, metaPath)
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pulling %s: %v", tag, err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	// The runtime stage made natively keeps the base's layers first and,
	// under the epoch, as they are.
	sharesBaseLayers(t, ctx, idx, registryAddr(t)+"/library/debian:bookworm-slim")
	if d, _ := idx.Digest(); d.String() != meta.ImageDigest.String() {
		t.Errorf("index digest %s, metadata says %s", d, meta.ImageDigest)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	wantAnn := map[string]string{
		ocispec.AnnotationTitle:    "hello",
		ocispec.AnnotationVersion:  "1.2.3",
		ocispec.AnnotationRevision: "0123abcd",
		ocispec.AnnotationSource:   "https://example.com/hello",
		ocispec.AnnotationURL:      "https://example.com/hello",
		ocispec.AnnotationAuthors:  "crossllb tests",
	}
	checkKeys := func(what string, got map[string]string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", what, k, got[k], v)
			}
		}
		if got[ocispec.AnnotationCreated] != epochRFC3339 {
			t.Errorf("%s: %s = %q, want the epoch's %s", what, ocispec.AnnotationCreated, got[ocispec.AnnotationCreated], epochRFC3339)
		}
	}
	checkKeys("index annotations", im.Annotations, merged(wantAnn, map[string]string{"com.example.index": "yes"}))
	if len(im.Manifests) != len(cargoTargets) {
		t.Fatalf("index has %d manifests, want %d", len(im.Manifests), len(cargoTargets))
	}

	c := connect(t, ctx)
	for i, want := range cargoTargets {
		desc := im.Manifests[i]
		p := platforms.MustParse(want.platform)
		t.Run(strings.ReplaceAll(want.platform, "/", "_"), func(t *testing.T) {
			if desc.Platform == nil || platforms.Format(ocispec.Platform{OS: desc.Platform.OS, Architecture: desc.Platform.Architecture, Variant: desc.Platform.Variant}) != want.platform {
				t.Fatalf("manifest %d is for %v, want %s", i, desc.Platform, want.platform)
			}
			img, err := idx.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			checkKeys("manifest annotations", m.Annotations, wantAnn)
			var cfg ocispec.Image
			raw, err := img.RawConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatal(err)
			}
			checkKeys("config labels", cfg.Config.Labels, merged(wantAnn, map[string]string{"com.example.extra": "yes"}))
			if cfg.Config.User != serviceUser {
				t.Errorf("config User %q, want %q", cfg.Config.User, serviceUser)
			}
			if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/"+cargoBinary {
				t.Errorf("entrypoint %q", got)
			}

			hs, binary := imageEntries(t, img, cargoBinary)
			if binary == nil {
				t.Fatalf("%s is not in the image", cargoBinary)
			}
			tc, err := platforms.ToolchainFor(p)
			if err != nil {
				t.Fatal(err)
			}
			if h, err := tc.CheckELF(bytes.NewReader(binary)); err != nil {
				t.Errorf("%s: %v", want.platform, err)
			} else if want.platform == "linux/arm/v7" && h.Float != platforms.FloatHard {
				t.Errorf("arm/v7 binary is %s, want hard-float", h.Float)
			}
			for _, d := range serviceDirs {
				h, ok := hs[d]
				if !ok {
					t.Errorf("/%s is not in the image", d)
					continue
				}
				if h.Typeflag != tar.TypeDir || fmt.Sprintf("%d:%d", h.Uid, h.Gid) != serviceUser {
					t.Errorf("/%s: type %c owner %d:%d, want a directory owned by %s", d, h.Typeflag, h.Uid, h.Gid, serviceUser)
				}
			}
			if _, ok := hs["usr/share/ca-certificates"]; !ok {
				t.Error("ca-certificates is not installed")
			}

			image := ref.Context().Digest(desc.Digest.String()).String()
			if out := runAs(t, ctx, c, image, p, cfg.Config.User, "/"+cargoBinary); out != want.output {
				t.Errorf("%s printed %q, want %q", want.platform, out, want.output)
			}
			// The user exists in the image under its name.
			if out := runOn(t, ctx, c, image, p, "id", "trow"); out != "uid=333333(trow) gid=333333(trow) groups=333333(trow)" {
				t.Errorf("id trow = %q", out)
			}
		})
	}
}

// TestCargoExampleMuslNeedsRustup: Debian's rustc cannot build musl
// targets; the example says so as a usage error before building anything.
func TestCargoExampleMuslNeedsRustup(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	bin := buildCargoExample(t)
	_, errOut, err := runCargoExample(t, ctx, bin, "--platform", "linux/arm64", "--musl")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("--musl without --rustup: err = %v, want exit code 2\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "musl") || !strings.Contains(errOut, "--rustup") {
		t.Errorf("error does not explain: %s", errOut)
	}
}

// TestCProgramThreePlatforms cross-compiles a C program with make and
// Debian's cross gcc on the build platform for amd64, arm64 and arm/v7,
// pushes the index, and runs each image under its platform.
func TestCProgramThreePlatforms(t *testing.T) {
	ctx := testContext(t, 30*time.Minute)
	c := connect(t, ctx)
	var targets []ocispec.Platform
	var all []platforms.Toolchain
	for _, ct := range cTargets {
		p := platforms.MustParse(ct.platform)
		targets = append(targets, p)
		tc, err := platforms.ToolchainFor(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tc)
	}
	tag := fmt.Sprintf("%s/crossllb-test/c-hello:%d", registryAddr(t), time.Now().UnixNano())
	var log bytes.Buffer
	res, err := c.Build(ctx, targets, func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		builder, err := llb.ResolveBase(ctx, tg.Resolver, "debian:bookworm-slim", tg.BuildPlatform)
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
		src := bk.Local("context", bk.LocalUniqueID("crossllb-integration-cprog"))
		compile := llb.CCompile(src, builder, "hello", tc, all, llb.WithCEnv("CFLAGS=-O2"))
		rt := llb.RuntimeStage(base, []llb.Artifact{{From: compile, Path: "/hello", Dest: "/usr/local/bin/hello-c", Mode: 0o755}})
		return rt, llb.ImageConfig(base, llb.ImageSpec{Entrypoint: []string{"/usr/local/bin/hello-c"}}), nil
	}, solver.WithLocal("context", "../examples/cargo/testdata/cprog"),
		solver.WithOutput(solver.Registry(tag, solver.Insecure())),
		solver.WithProgress("plain", &log))
	if err != nil {
		t.Fatalf("building the C program: %v\n%s", err, lastLines(log.String(), 60))
	}
	for _, ct := range cTargets {
		tc, _ := platforms.ToolchainFor(platforms.MustParse(ct.platform))
		if !strings.Contains(log.String(), "make ("+ct.platform+", "+tc.GNUTriple+")") {
			t.Errorf("the build log has no make step for %s", ct.platform)
		}
	}
	if len(res.Manifests) != len(cTargets) {
		t.Fatalf("%d manifests, want %d", len(res.Manifests), len(cTargets))
	}
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	for i, ct := range cTargets {
		m := res.Manifests[i]
		t.Run(strings.ReplaceAll(ct.platform, "/", "_"), func(t *testing.T) {
			if got := platforms.Format(m.Platform); got != ct.platform {
				t.Fatalf("manifest %d is for %s, want %s", i, got, ct.platform)
			}
			dref := ref.Context().Digest(m.Manifest.Digest.String())
			img, err := remote.Image(dref, remote.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			_, binary := imageEntries(t, img, "usr/local/bin/hello-c")
			tc, _ := platforms.ToolchainFor(m.Platform)
			if h, err := tc.CheckELF(bytes.NewReader(binary)); err != nil {
				t.Errorf("%s: %v", ct.platform, err)
			} else if ct.platform == "linux/arm/v7" && h.Float != platforms.FloatHard {
				t.Errorf("arm/v7 binary is %s, want hard-float", h.Float)
			}
			if out := runOn(t, ctx, c, dref.String(), m.Platform, "/usr/local/bin/hello-c"); out != ct.output {
				t.Errorf("%s printed %q, want %q", ct.platform, out, ct.output)
			}
		})
	}
}

func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestCargoExampleWithoutLockFile: a crate with no Cargo.lock builds as
// `cargo build` would (it failed with cargo's "--locked was passed"), the
// example says that cargo resolves the dependencies in the build, and the
// binary runs.
func TestCargoExampleWithoutLockFile(t *testing.T) {
	ctx := testContext(t, 30*time.Minute)
	bin := buildCargoExample(t)
	dir := t.TempDir()
	for _, f := range []string{"Cargo.toml", "src/main.rs"} {
		dt, err := os.ReadFile(filepath.Join("..", "examples", "cargo", "testdata", "hello", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tag := fmt.Sprintf("%s/crossllb-test/cargo-nolock:%d", registryAddr(t), time.Now().UnixNano())
	_, errOut, err := runCargoExample(t, ctx, bin, "--context", dir, "--bin", "hello", "--platform", "linux/arm64",
		"--output", "type=image,name="+tag+",push=true,registry.insecure=true")
	if err != nil {
		t.Fatalf("examples/cargo on a crate without Cargo.lock: %v\n%s", err, lastLines(errOut, 40))
	}
	for _, want := range []string{"has no Cargo.lock: cargo resolves the dependencies inside the build", "no Cargo.lock: resolved in the build)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the output does not say %q", want)
		}
	}
	c := connect(t, ctx)
	if out := runAs(t, ctx, c, tag, platforms.MustParse("linux/arm64"), serviceUser, "/"+cargoBinary); out != cargoTargets[1].output {
		t.Errorf("printed %q, want %q", out, cargoTargets[1].output)
	}
}

// serviceCrates are the Debian packages that hold the service crate's
// dependency sources (examples/cargo/testdata/service/.cargo/config.toml
// points cargo at /usr/share/cargo/registry), installed in the builder.
const serviceCrates = "librust-ring-dev,librust-openssl-dev,librust-tokio-dev,librust-serde-json-dev,librust-serde-derive-dev," +
	"librust-clap-dev,librust-regex-dev,librust-hex-dev,librust-base64-dev,librust-log-dev,librust-env-logger-dev,pkg-config"

// TestCargoServiceWithCDependencies builds a crate of a real service's
// size (41 dependencies from Debian's librust-*-dev sources, no Cargo.lock,
// offline) for amd64, arm64 and arm/v7 under --emulation forbid: ring
// compiles C and assembly with each target's cross gcc through the cc
// crate; openssl-sys links the target's libssl (--target-packages
// libssl-dev, pkg-config pointed at it); libssl3 is installed natively in
// the runtime stage. Each binary then runs on its platform and prints a
// SHA-256 computed by ring and the OpenSSL version of its libssl.
func TestCargoServiceWithCDependencies(t *testing.T) {
	ctx := testContext(t, 40*time.Minute)
	bin := buildCargoExample(t)
	tag := fmt.Sprintf("%s/crossllb-test/cargo-service:%d", registryAddr(t), time.Now().UnixNano())
	var ps []string
	for _, ct := range cargoTargets {
		ps = append(ps, ct.platform)
	}
	// A copy with a nonce in its source, so that BuildKit's cache has no
	// result for it (cache mount IDs are not part of an op's cache key).
	src := t.TempDir()
	for _, f := range []string{"Cargo.toml", ".cargo/config.toml", "src/main.rs"} {
		dt, err := os.ReadFile(filepath.Join("..", "examples", "cargo", "testdata", "service", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "src/main.rs" {
			dt = append(dt, fmt.Sprintf("// nonce %d\n", time.Now().UnixNano())...)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, f), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	namespace := fmt.Sprintf("crossllb-test/service-%d", time.Now().UnixNano())
	metaPath := filepath.Join(t.TempDir(), "meta.json")
	_, errOut, err := runCargoExample(t, ctx, bin, "--context", src, "--bin", "service",
		"--platform", strings.Join(ps, ","), "--offline", "--emulation", "forbid",
		// A namespace of its own: empty target caches, so every crate is compiled and counted.
		"--cache-namespace", namespace,
		"--build-packages", serviceCrates, "--target-packages", "libssl-dev", "--apt-packages", "libssl3",
		"--metadata-file", metaPath,
		"--output", "type=image,name="+tag+",push=true,registry.insecure=true")
	if err != nil {
		t.Fatalf("examples/cargo on the service crate: %v\n%s", err, lastLines(errOut, 60))
	}
	// The run checks found OpenSSL's libraries in the image (issue 19).
	meta := readMetadata(t, metaPath)
	for _, ct := range cargoTargets {
		v := meta.Verified[ct.platform]
		if len(v) != 1 || v[0].Libraries["libssl.so.3"] == "" || v[0].Libraries["libcrypto.so.3"] == "" || v[0].ImageGlibc != "2.36" {
			t.Errorf("%s: verified %+v, want libssl.so.3 and libcrypto.so.3 found and the image's glibc 2.36", ct.platform, v)
		}
	}
	compiled := map[string]int{} // by vertex
	for _, line := range strings.Split(errOut, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[2] == "Compiling" {
			compiled[f[0]]++
		}
	}
	if len(compiled) != len(cargoTargets) {
		t.Errorf("cargo compiled in %d steps, want one per target: %v", len(compiled), compiled)
	}
	for step, n := range compiled {
		if n < 41 {
			t.Errorf("step %s compiled %d crates, want the service and its 40+ dependencies", step, n)
		}
	}
	sum := sha256.Sum256([]byte("crossllb"))
	c := connect(t, ctx)
	for _, ct := range cargoTargets {
		p := platforms.MustParse(ct.platform)
		tc, err := platforms.ToolchainFor(p)
		if err != nil {
			t.Fatal(err)
		}
		arch := map[string]string{"x86_64": "x86_64", "aarch64": "aarch64", "armv7l": "arm"}[tc.UnameMachine]
		want := fmt.Sprintf(`{"arch":%q,"sha256":"%x"} OpenSSL 3.0.`, arch, sum)
		out := runAs(t, ctx, c, tag, p, serviceUser, "/usr/local/bin/service")
		if !strings.HasPrefix(out, want) {
			t.Errorf("%s printed %q, want it to start with %q", ct.platform, out, want)
		}
	}
	// The same build without libssl3 in the runtime stage: the compile is
	// cached; the binary would fail at run time with "libssl.so.3: cannot
	// open shared object file". It fails the build, naming the library.
	_, errOut, err = runCargoExample(t, ctx, bin, "--context", src, "--bin", "service",
		"--platform", strings.Join(ps, ","), "--offline", "--emulation", "forbid",
		"--cache-namespace", namespace,
		// No package at all: ca-certificates would bring libssl3 with openssl.
		"--build-packages", serviceCrates, "--target-packages", "libssl-dev", "--apt-packages", "")
	if err == nil {
		t.Fatal("the service without libssl3 in its image passed verification")
	}
	want := regexp.MustCompile(`linux/(amd64|arm64|arm/v7): /usr/local/bin/service needs libssl\.so\.3, which the image lacks \(searched [^)]*\): install the package that ships it in the runtime stage \(llb\.WithAptInstall, --apt-packages: on Debian usually libssl3\)`)
	if !want.MatchString(errOut) {
		t.Errorf("the error does not name libssl.so.3 and its package (want %s):\n%s", want, lastLines(errOut, 20))
	}
}
