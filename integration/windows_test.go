package integration

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushGoOnlyBase pushes to the test registry a runtime base for
// linux/amd64, windows/amd64 and darwin/arm64: the linux and darwin images
// have no layer (scratch), the windows one a layer in Windows layout
// (Files/ and Hives/), as nanoserver's is. No Windows image can be pulled
// here; this one cannot run either, but BuildKit treats it as it treats
// nanoserver: it unpacks it in Windows layer mode and writes the layers
// made on top of it under Files/.
func pushGoOnlyBase(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"Files/", "Files/Windows/", "Files/Windows/System32/", "Hives/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2700"},
		{OS: "darwin", Architecture: "arm64"},
	} {
		img, err := mutate.ConfigFile(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
			&v1.ConfigFile{OS: p.OS, Architecture: p.Architecture, OSVersion: p.OSVersion, RootFS: v1.RootFS{Type: "layers"}})
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		if p.OS == "windows" {
			if img, err = mutate.AppendLayers(img, layer); err != nil {
				t.Fatal(err)
			}
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	ref := registryAddr(t) + "/crossllb-test/goonly-base:1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("pushing the Go-only test base %s: %v", ref, err)
	}
	return ref
}

// Go-only targets: windows/amd64 and darwin/arm64 images next to a linux
// one in one index, each binary verified in its own format, the Windows
// one in Windows layout (issue 14: no Linux-layout Windows image).
func TestGobuildGoOnlyTargetsVerified(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Minute)
	base := pushGoOnlyBase(t)
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta.json")
	tarPath := filepath.Join(dir, "multi.tar")
	mustGobuild(t, ctx, "--platform", "linux/amd64,windows/amd64,darwin/arm64", "--runtime-image", base,
		"--output", "type=oci,dest="+tarPath, "--metadata-file", meta)
	m := readMetadata(t, meta)
	for p, want := range map[string]struct{ path, found string }{
		"linux/amd64":   {"/" + helloBinary, "EM_X86_64 ELFCLASS64 little-endian"},
		"windows/amd64": {"/" + helloBinary + ".exe", "PE machine 0x8664"},
		"darwin/arm64":  {"/" + helloBinary, "Mach-O CpuArm64"},
	} {
		v := m.Verified[p]
		if len(v) != 1 || v[0].Found != want.found || v[0].Path != want.path {
			t.Errorf("%s: verified %+v, want %s found as %q", p, v, want.path, want.found)
		}
		if _, ok := m.Platforms[p]; !ok {
			t.Errorf("%s: not in the index (metadata platforms: %v)", p, m.Platforms)
		}
	}

	layoutDir := t.TempDir()
	untar(t, tarPath, layoutDir)
	idx := onlyIndex(t, layoutDir)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var win v1.Image
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == "windows" {
			if win, err = idx.Image(d.Digest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if win == nil {
		t.Fatalf("no windows image in the index: %+v", im.Manifests)
	}
	cfg, err := win.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantEntry := []string{`C:\` + strings.ReplaceAll(helloBinary, "/", `\`) + ".exe"}
	if cfg.OS != "windows" || !slices.Equal(cfg.Config.Entrypoint, wantEntry) {
		t.Errorf("windows config: OS %q entrypoint %q, want windows and %q", cfg.OS, cfg.Config.Entrypoint, wantEntry)
	}
	layers, err := win.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("windows image has %d layers, want the base's and the binary's", len(layers))
	}
	names := layerNames(t, layers[1])
	if !slices.Contains(names, "Files/"+helloBinary+".exe") {
		t.Errorf("the binary's layer is not in Windows layout (want Files/%s.exe): %q", helloBinary, names)
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "Files") && !strings.HasPrefix(n, "Hives") {
			t.Errorf("the binary's layer has %q outside Files/ and Hives/: a Windows host cannot apply it", n)
		}
	}
}

// layerNames lists the entry names of a layer's tar.
func layerNames(t *testing.T, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}
