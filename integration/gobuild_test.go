package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/image-spec/schema"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// The hello program prints the platform it was compiled for; Go records
// GOAMD64 and GOARM in the binary's build info.
var helloTargets = []struct{ platform, output string }{
	{"linux/amd64", "hello from linux/amd64 GOAMD64=v1"},
	{"linux/arm64", "hello from linux/arm64"},
	{"linux/arm/v7", "hello from linux/arm GOARM=7"},
}

const helloBinary = "usr/local/bin/hello"

func helloPlatforms() string {
	var ps []string
	for _, h := range helloTargets {
		ps = append(ps, h.platform)
	}
	return strings.Join(ps, ",")
}

// gobuild runs the example program as a user would.
func gobuild(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, gobuildBin, append([]string{"--addr", buildkitHost(t), "--progress", "plain"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// runGobuild runs gobuild with exactly args (no defaults), stderr to w.
func runGobuild(ctx context.Context, args []string, w io.Writer) error {
	cmd := exec.CommandContext(ctx, gobuildBin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	return cmd.Run()
}

func mustGobuild(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, errOut, err := gobuild(t, ctx, args...)
	if err != nil {
		t.Fatalf("gobuild %v: %v\n%s", args, err, lastLines(errOut, 40))
	}
	for _, line := range strings.Split(errOut, "\n") {
		if strings.Contains(line, "WARN:") {
			t.Errorf("BuildKit warned: %s", line)
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readMetadata(t *testing.T, path string) solver.Metadata {
	t.Helper()
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("metadata file: %v", err)
	}
	var m solver.Metadata
	if err := json.Unmarshal(dt, &m); err != nil {
		t.Fatalf("metadata file %s: %v\n%s", path, err, dt)
	}
	return m
}

// checkIndex checks an exported index every way we know: go-containerregistry's
// validate, the image-spec JSON schemas, platform against config, the ELF
// header of the binary against the platform, and the metadata file's digests.
func checkIndex(t *testing.T, idx v1.ImageIndex, meta solver.Metadata) {
	t.Helper()
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidatorMediaTypeImageIndex.Validate(bytes.NewReader(raw)); err != nil {
		t.Fatalf("index does not match the image-spec schema: %v\n%s", err, raw)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if meta.ImageDigest.String() != d.String() {
		t.Errorf("metadata containerimage.digest = %s, index digest = %s", meta.ImageDigest, d)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// A created annotation only with a source date epoch (the callers
	// that give one check its value).
	if created := im.Annotations[ocispec.AnnotationCreated]; im.Annotations[ocispec.AnnotationTitle] != "hello" || (created != "" && created != epochRFC3339) {
		t.Errorf("index annotations = %v, want title hello, and no created time or the epoch's", im.Annotations)
	}
	if len(im.Manifests) != len(helloTargets) {
		t.Fatalf("index has %d manifests, want %d: %+v", len(im.Manifests), len(helloTargets), im.Manifests)
	}
	for i, want := range helloTargets {
		desc := im.Manifests[i]
		if desc.Platform == nil {
			t.Fatalf("manifest %d has no platform", i)
		}
		p := ocispec.Platform{OS: desc.Platform.OS, Architecture: desc.Platform.Architecture, Variant: desc.Platform.Variant}
		if got := platforms.Format(p); got != want.platform {
			t.Errorf("manifest %d is for %s, want %s (in the requested order)", i, got, want.platform)
			continue
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rawManifest, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.ValidatorMediaTypeManifest.Validate(bytes.NewReader(rawManifest)); err != nil {
			t.Errorf("%s: manifest does not match the schema: %v", want.platform, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Annotations[ocispec.AnnotationTitle] != "hello" {
			t.Errorf("%s: manifest annotations = %v, want title hello", want.platform, m.Annotations)
		}
		rawConfig, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.ValidatorMediaTypeImageConfig.Validate(bytes.NewReader(rawConfig)); err != nil {
			t.Errorf("%s: config does not match the schema: %v", want.platform, err)
		}
		var cfg ocispec.Image
		if err := json.Unmarshal(rawConfig, &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.OS != p.OS || cfg.Architecture != p.Architecture || cfg.Variant != p.Variant {
			t.Errorf("%s: config says %s/%s/%s", want.platform, cfg.OS, cfg.Architecture, cfg.Variant)
		}
		if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/"+helloBinary {
			t.Errorf("%s: entrypoint %q, want /%s", want.platform, got, helloBinary)
		}
		if mp, ok := meta.Platforms[want.platform]; !ok || mp.Manifest.String() != desc.Digest.String() || mp.Config.String() != m.Config.Digest.String() {
			t.Errorf("%s: metadata platforms entry %+v, want manifest %s config %s", want.platform, mp, desc.Digest, m.Config.Digest)
		}
		bin := fileFromImage(t, img, helloBinary)
		tc, err := platforms.ToolchainFor(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.CheckELF(bytes.NewReader(bin)); err != nil {
			t.Errorf("%s: %v", want.platform, err)
		}
	}
}

// fileFromImageRaw returns a file of the flattened image, any mode.
func fileFromImageRaw(t *testing.T, img v1.Image, path string) []byte {
	t.Helper()
	_, dt := imageFile(t, img, path)
	return dt
}

// fileFromImage returns an executable file of the flattened image.
func fileFromImage(t *testing.T, img v1.Image, path string) []byte {
	t.Helper()
	h, dt := imageFile(t, img, path)
	if h.Mode&0o111 == 0 {
		t.Errorf("%s has mode %o: not executable", path, h.Mode)
	}
	return dt
}

func imageFile(t *testing.T, img v1.Image, path string) (*tar.Header, []byte) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s is not in the image", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") == path {
			dt, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return h, dt
		}
	}
}

func untar(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("reading %s: %v", src, err)
		}
		p := filepath.Join(dst, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			dt, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, dt, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// onlyIndex opens the one image index that an OCI layout's index.json
// points at.
func onlyIndex(t *testing.T, dir string) v1.ImageIndex {
	t.Helper()
	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("reading the OCI layout %s: %v", dir, err)
	}
	im, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("%s/index.json lists %d entries, want exactly one image index: %+v", dir, len(im.Manifests), im.Manifests)
	}
	idx, err := outer.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatalf("index.json's entry is not an image index: %v", err)
	}
	return idx
}

func noLeftovers(t *testing.T, dir string, keep ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, k := range keep {
		allowed[k] = true
	}
	for _, e := range entries {
		if !allowed[e.Name()] {
			t.Errorf("%s holds %s, which the build should not have left", dir, e.Name())
		}
	}
}

func TestGobuildOCITar(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "hello.tar")
	metaPath := filepath.Join(dir, "meta.json")
	out := mustGobuild(t, ctx, "--platform", helloPlatforms(), "--runtime-image", "debian:bookworm-slim",
		"--output", "type=oci,dest="+tarPath, "--metadata-file", metaPath)
	noLeftovers(t, dir, "hello.tar", "meta.json")
	meta := readMetadata(t, metaPath)
	for _, h := range helloTargets {
		if !strings.Contains(out, h.platform+" ") || !strings.Contains(out, meta.Platforms[h.platform].Manifest.String()) {
			t.Errorf("gobuild's output does not list %s with its manifest digest:\n%s", h.platform, out)
		}
	}
	if len(meta.Emulated) != 0 {
		t.Errorf("gobuild's cross-compiled recipe ran steps under emulation: %v", meta.Emulated)
	}
	for _, h := range helloTargets {
		if v := meta.Verified[h.platform]; len(v) != 1 || v[0].Path != "/"+helloBinary {
			t.Errorf("metadata crossllb.verified for %s = %+v, want /%s checked", h.platform, v, helloBinary)
		}
	}
	layoutDir := t.TempDir()
	untar(t, tarPath, layoutDir)
	checkIndex(t, onlyIndex(t, layoutDir), meta)
}

func TestGobuildOCIDir(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	// An old layout at the destination is replaced, not merged into.
	if err := os.MkdirAll(filepath.Join(layoutDir, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layoutDir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	metaPath := filepath.Join(dir, "meta.json")
	mustGobuild(t, ctx, "--platform", helloPlatforms(),
		"--output", "type=oci,dest="+layoutDir+",tar=false", "--metadata-file", metaPath)
	noLeftovers(t, dir, "layout", "meta.json")
	if _, err := os.Stat(filepath.Join(layoutDir, "stale")); err == nil {
		t.Errorf("the old layout's content survived in %s", layoutDir)
	}
	checkIndex(t, onlyIndex(t, layoutDir), readMetadata(t, metaPath))
}

// TestGobuildRegistryRoundTrip pushes to the local registry, validates what
// it serves, runs every platform's image (under QEMU for the foreign ones),
// and pulls the index into a layout to compare digests.
func TestGobuildRegistryRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	reg := registryAddr(t)
	tag := fmt.Sprintf("%s/crossllb-test/hello:rt-%d", reg, time.Now().UnixNano())
	metaPath := filepath.Join(t.TempDir(), "meta.json")
	mustGobuild(t, ctx, "--platform", helloPlatforms(), "--runtime-image", "debian:bookworm-slim",
		"--output", "type=image,name="+tag+",push=true,registry.insecure=true", "--metadata-file", metaPath)
	meta := readMetadata(t, metaPath)
	if meta.ImageName != tag {
		t.Errorf("metadata image.name = %q, want %q", meta.ImageName, tag)
	}
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pulling %s: %v", tag, err)
	}
	checkIndex(t, idx, meta)

	// Pull into a layout: the same index and manifest digests.
	pulled := t.TempDir()
	lp, err := layout.Write(pulled, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx); err != nil {
		t.Fatalf("pulling %s into a layout: %v", tag, err)
	}
	got := onlyIndex(t, pulled)
	gd, _ := got.Digest()
	if gd.String() != meta.ImageDigest.String() {
		t.Errorf("pulled index digest %s, pushed %s", gd, meta.ImageDigest)
	}
	checkIndex(t, got, meta)

	c := connect(t, ctx)
	for _, h := range helloTargets {
		t.Run(strings.ReplaceAll(h.platform, "/", "_"), func(t *testing.T) {
			p := platforms.MustParse(h.platform)
			image := ref.Context().Digest(meta.Platforms[h.platform].Manifest.String()).String()
			if out := runOn(t, ctx, c, image, p, "/"+helloBinary); out != h.output {
				t.Errorf("%s printed %q, want %q", h.platform, out, h.output)
			}
		})
	}
}

// TestGobuildFailedBuildLeavesNothing: a compile error fails the build with
// the compiler's message, and neither the output nor the metadata file
// appears, nor any temporary file.
func TestGobuildFailedBuildLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { undefinedFunction() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, errOut, err := gobuild(t, ctx, "--context", src, "--platform", "linux/amd64,linux/arm64",
		"--output", "type=oci,dest="+filepath.Join(dir, "broken.tar"), "--metadata-file", filepath.Join(dir, "meta.json"))
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("gobuild on a broken program: err = %v, want exit code 1\n%s", err, lastLines(errOut, 20))
	}
	if !strings.Contains(errOut, "undefined: undefinedFunction") {
		t.Errorf("the error does not carry the compiler's message:\n%s", lastLines(errOut, 20))
	}
	noLeftovers(t, dir)
}

// A runtime base that lacks a target platform fails up front with the
// image, the missing platform and the platforms it has.
func TestGobuildBaseImagePreflight(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Minute)
	dir := t.TempDir()
	_, errOut, err := gobuild(t, ctx, "--platform", "linux/amd64,linux/riscv64", "--runtime-image", "debian:bookworm-slim",
		"--output", "type=oci,dest="+filepath.Join(dir, "x.tar"))
	if err == nil {
		t.Fatal("a riscv64 image on a base without riscv64 was built")
	}
	want := `base image "debian:bookworm-slim" has no image for linux/riscv64 (it has linux/amd64, linux/arm64, linux/arm/v7)`
	if !strings.Contains(errOut, want) {
		t.Errorf("error does not say %q:\n%s", want, lastLines(errOut, 10))
	}
	noLeftovers(t, dir)
}

// epoch is the source date epoch the tests give, and epochRFC3339 the
// same time as annotations carry it.
const (
	epoch        = "1700000000"
	epochRFC3339 = "2023-11-14T22:13:20Z"
)

// With a source date epoch, two builds of the same source give the same
// index digest byte for byte, the second on a fresh daemon root (nothing
// cached: a pruned daemon); changing one source file changes it. The
// runtime base's layers are exported as they are, shared with the base,
// not rewritten to the epoch.
// Not parallel: it unsets BUILDKIT_HOST to make Connect start a daemon.
func TestGobuildReproducibleDigests(t *testing.T) {
	ctx := testContext(t, 20*time.Minute)
	src := copyHello(t, "")
	digestOf := func(addr string) string {
		dir := t.TempDir()
		meta := filepath.Join(dir, "meta.json")
		args := []string{"--addr", addr, "--progress", "plain", "--context", src, "--platform", "linux/arm64,linux/amd64",
			"--runtime-image", "debian:bookworm-slim", "--source-date-epoch", epoch,
			"--output", "type=oci,dest=" + filepath.Join(dir, "x.tar"), "--metadata-file", meta}
		var out bytes.Buffer
		if err := runGobuild(ctx, args, &out); err != nil {
			t.Fatalf("gobuild on %s: %v\n%s", addr, err, lastLines(out.String(), 20))
		}
		layoutDir := t.TempDir()
		untar(t, filepath.Join(dir, "x.tar"), layoutDir)
		idx := onlyIndex(t, layoutDir)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if got := im.Annotations[ocispec.AnnotationCreated]; got != epochRFC3339 {
			t.Errorf("index created annotation %q, want the epoch's %s", got, epochRFC3339)
		}
		sharesBaseLayers(t, ctx, idx, registryAddr(t)+"/library/debian:bookworm-slim")
		return readMetadata(t, meta).ImageDigest.String()
	}
	first := digestOf(buildkitHost(t))

	cfg := daemonConfig(t)
	t.Setenv("BUILDKIT_HOST", "")
	fresh, err := solver.Connect(ctx, "", solver.WithEmbedded(solver.EmbeddedConfig{Config: cfg}))
	if err != nil {
		t.Fatalf("starting a fresh buildkitd: %v", err)
	}
	defer fresh.Close()
	if second := digestOf(fresh.Address()); second != first {
		t.Errorf("two builds of the same source with one epoch: %s, then %s on a fresh daemon", first, second)
	}

	f, err := os.OpenFile(filepath.Join(src, "main.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\nvar _ = \"changed\"\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if third := digestOf(fresh.Address()); third == first {
		t.Errorf("changing main.go left the index digest at %s", first)
	}
}

// pullIndex is the index image (a 127.0.0.1 reference) serves.
func pullIndex(t *testing.T, ctx context.Context, image string) v1.ImageIndex {
	t.Helper()
	ref, err := name.ParseReference(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pulling %s: %v", image, err)
	}
	return idx
}

// sharesBaseLayers checks that every image of idx starts with the layers
// of base's image for its platform, blob for blob: the base was exported
// as it is.
func sharesBaseLayers(t *testing.T, ctx context.Context, idx v1.ImageIndex, base string) {
	t.Helper()
	baseIdx := pullIndex(t, ctx, base)
	baseIm, err := baseIdx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range im.Manifests {
		if desc.Platform == nil || desc.Platform.OS == "unknown" {
			continue // an attestation
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		var baseM *v1.Manifest
		for _, bd := range baseIm.Manifests {
			if bd.Platform != nil && bd.Platform.Equals(*desc.Platform) {
				bi, err := baseIdx.Image(bd.Digest)
				if err != nil {
					t.Fatal(err)
				}
				if baseM, err = bi.Manifest(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if baseM == nil {
			t.Fatalf("%s has no image for %v", base, desc.Platform)
		}
		if len(m.Layers) <= len(baseM.Layers) {
			t.Fatalf("%v: %d layers, want more than the base's %d", desc.Platform, len(m.Layers), len(baseM.Layers))
		}
		for i, l := range baseM.Layers {
			if m.Layers[i].Digest != l.Digest {
				t.Errorf("%v: layer %d is %s, the base's is %s: the base was rewritten, not shared", desc.Platform, i, m.Layers[i].Digest, l.Digest)
			}
		}
	}
}

// Without a source date epoch, a rebuild of unchanged sources gives the
// same index digest (the config's created time is the one BuildKit
// records for the newest layer, not the time of the build), and the index
// has no created annotation; the config has a created time.
func TestGobuildRebuildKeepsDigests(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	src := copyHello(t, "")
	tag := fmt.Sprintf("%s/crossllb-test/hello:rebuild-%d", registryAddr(t), time.Now().UnixNano())
	build := func() solver.Metadata {
		meta := filepath.Join(t.TempDir(), "meta.json")
		mustGobuild(t, ctx, "--context", src, "--platform", "linux/amd64,linux/arm64", "--runtime-image", "debian:bookworm-slim",
			"--output", "type=image,name="+tag+",push=true,registry.insecure=true", "--metadata-file", meta)
		return readMetadata(t, meta)
	}
	first := build()
	time.Sleep(1100 * time.Millisecond) // a created time of now would differ
	second := build()
	if first.ImageDigest != second.ImageDigest {
		t.Errorf("a rebuild of unchanged sources: index %s, then %s", first.ImageDigest, second.ImageDigest)
	}
	idx := pullIndex(t, ctx, tag)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := im.Annotations[ocispec.AnnotationCreated]; ok {
		t.Errorf("index created annotation %q without a source date epoch, want none", v)
	}
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Created.IsZero() {
			t.Errorf("%v: config has no created time", desc.Platform)
		}
	}
}

// Provenance attestations (BuildKit's own generator) are attached to every
// platform's manifest and reported in the metadata.
func TestGobuildProvenance(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta.json")
	layoutDir := filepath.Join(dir, "layout")
	mustGobuild(t, ctx, "--platform", "linux/amd64,linux/arm64", "--attest", "type=provenance,mode=max",
		"--output", "type=oci,dest="+layoutDir+",tar=false", "--metadata-file", meta)
	m := readMetadata(t, meta)
	idx := onlyIndex(t, layoutDir)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 4 {
		t.Fatalf("index has %d entries, want 2 images and 2 attestation manifests", len(im.Manifests))
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		e := m.Platforms[p]
		if e.Attestation == "" {
			t.Fatalf("%s: no attestation in the metadata: %+v", p, m.Platforms)
		}
		h, err := v1.NewHash(e.Attestation.String())
		if err != nil {
			t.Fatal(err)
		}
		att, err := idx.Image(h)
		if err != nil {
			t.Fatal(err)
		}
		am, err := att.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range am.Layers {
			if strings.HasPrefix(l.Annotations["in-toto.io/predicate-type"], "https://slsa.dev/provenance/") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: attestation manifest has no SLSA provenance layer: %+v", p, am.Layers)
		}
	}
}

// --attestations-in-index=false: provenance is built and its manifests
// pushed and written, but the index lists only the images (for clients
// that choke on unknown/unknown entries); the metadata still names them.
func TestGobuildAttestationsOutOfIndex(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta.json")
	layoutDir := filepath.Join(dir, "layout")
	image := registryAddr(t) + "/crossllb-test/noatt:" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	mustGobuild(t, ctx, "--platform", "linux/amd64,linux/arm64", "--attest", "type=provenance,mode=min", "--attestations-in-index=false",
		"--output", "type=oci,dest="+layoutDir+",tar=false",
		"--output", "type=image,name="+image+",push=true,registry.insecure=true",
		"--metadata-file", meta)
	m := readMetadata(t, meta)
	ref, err := name.ParseReference(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	for what, idx := range map[string]v1.ImageIndex{"layout": onlyIndex(t, layoutDir), "registry": pushed} {
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 2 {
			t.Errorf("%s: index lists %d manifests, want the 2 images only: %+v", what, len(im.Manifests), im.Manifests)
		}
		for _, d := range im.Manifests {
			if d.Platform == nil || d.Platform.OS == "unknown" {
				t.Errorf("%s: index lists %+v", what, d)
			}
		}
		if d, _ := idx.Digest(); d.String() != m.ImageDigest.String() {
			t.Errorf("%s: index %s, metadata %s", what, d, m.ImageDigest)
		}
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		att := m.Platforms[p].Attestation
		if att == "" {
			t.Fatalf("%s: no attestation in the metadata: %+v", p, m.Platforms)
		}
		if _, err := os.Stat(filepath.Join(layoutDir, "blobs", "sha256", att.Encoded())); err != nil {
			t.Errorf("%s: attestation manifest not in the layout: %v", p, err)
		}
		if _, err := remote.Get(ref.Context().Digest(att.String()), remote.WithContext(ctx)); err != nil {
			t.Errorf("%s: attestation manifest not in the registry: %v", p, err)
		}
	}
}

// The binary's layer is compressed as --compression says: gzip at level 1
// by default (its gzip header's XFL byte is 4, "fastest"; BuildKit's own
// default level writes 0), zstd when asked, while the base's layers keep
// their gzip (no force). A fresh binary each time, so that no layer
// compressed by an earlier build is reused.
func TestGobuildCompression(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	for _, tc := range []struct {
		flag, mediaType string
		xfl             byte // gzip's extra flags byte; 0 for zstd
	}{
		{"", "application/vnd.oci.image.layer.v1.tar+gzip", 4},
		{"type=gzip,level=9", "application/vnd.oci.image.layer.v1.tar+gzip", 2},
		{"zstd", "application/vnd.oci.image.layer.v1.tar+zstd", 0},
	} {
		nonce := fmt.Sprintf("compression %q %d", tc.flag, time.Now().UnixNano())
		src := copyHello(t, fmt.Sprintf("func init() { if len(%q) == 0 { println() } }\n", nonce))
		layoutDir := filepath.Join(t.TempDir(), "layout")
		args := []string{"--context", src, "--platform", "linux/amd64", "--runtime-image", "debian:bookworm-slim",
			"--output", "type=oci,dest=" + layoutDir + ",tar=false"}
		if tc.flag != "" {
			args = append(args, "--compression", tc.flag)
		}
		mustGobuild(t, ctx, args...)
		idx := onlyIndex(t, layoutDir)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		img, err := idx.Image(im.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(m.Layers[0].MediaType); got != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Errorf("--compression %q: the base's layer is %s, want it kept as gzip", tc.flag, got)
		}
		last := m.Layers[len(m.Layers)-1]
		if string(last.MediaType) != tc.mediaType {
			t.Errorf("--compression %q: the binary's layer is %s, want %s", tc.flag, last.MediaType, tc.mediaType)
			continue
		}
		blob, err := os.ReadFile(filepath.Join(layoutDir, "blobs", last.Digest.Algorithm, last.Digest.Hex))
		if err != nil {
			t.Fatal(err)
		}
		if tc.xfl != 0 && (len(blob) < 10 || blob[0] != 0x1f || blob[1] != 0x8b || blob[8] != tc.xfl) {
			t.Errorf("--compression %q: the binary's layer starts % x, want gzip with XFL %d", tc.flag, blob[:min(10, len(blob))], tc.xfl)
		}
	}
}
