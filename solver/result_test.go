package solver

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// fakeLayout is a content-addressed blob map with an index over manifests.
type fakeLayout struct {
	blobs map[digest.Digest][]byte
	index ocispec.Descriptor
}

func (f *fakeLayout) put(t *testing.T, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	dt, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes(dt)
	f.blobs[d] = dt
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(dt))}
}

func newFakeLayout(t *testing.T, ps ...ocispec.Platform) *fakeLayout {
	f := &fakeLayout{blobs: map[digest.Digest][]byte{}}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, p := range ps {
		cfg := f.put(t, ocispec.MediaTypeImageConfig, ocispec.Image{Platform: p})
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg}
		m.SchemaVersion = 2
		md := f.put(t, ocispec.MediaTypeImageManifest, m)
		md.Platform = &p
		idx.Manifests = append(idx.Manifests, md)
	}
	f.index = f.put(t, ocispec.MediaTypeImageIndex, idx)
	return f
}

func (f *fakeLayout) fetch(_ context.Context, d digest.Digest) ([]byte, error) {
	dt, ok := f.blobs[d]
	if !ok {
		return nil, fmt.Errorf("no blob %s", d)
	}
	return dt, nil
}

var (
	amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = ocispec.Platform{OS: "linux", Architecture: "arm64"}
	armv7 = ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
)

func TestManifestsFromIndex(t *testing.T) {
	f := newFakeLayout(t, amd64, arm64, armv7)
	// Asked in another order than the index's: the result keeps the asked order.
	got, err := manifestsFromIndex(context.Background(), f.fetch, f.index, mustTargets(t, []ocispec.Platform{armv7, amd64}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Platform.Architecture != "arm" || got[1].Platform.Architecture != "amd64" {
		t.Fatalf("got %+v", got)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(f.blobs[got[0].Manifest.Digest], &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != got[0].Config.Digest {
		t.Errorf("config %s, manifest says %s", got[0].Config.Digest, m.Config.Digest)
	}

	if _, err := manifestsFromIndex(context.Background(), f.fetch, f.index, mustTargets(t, []ocispec.Platform{{OS: "linux", Architecture: "s390x"}})); err == nil || !strings.Contains(err.Error(), "has no manifest for linux/s390x") {
		t.Errorf("missing platform: %v", err)
	}
	// Content that does not match its digest is refused.
	for d := range f.blobs {
		if d != f.index.Digest {
			f.blobs[d] = append(f.blobs[d], ' ')
		}
	}
	if _, err := manifestsFromIndex(context.Background(), f.fetch, f.index, mustTargets(t, []ocispec.Platform{amd64})); err == nil || !strings.Contains(err.Error(), "content is sha256:") {
		t.Errorf("corrupt manifest: %v", err)
	}
}

func TestSmallTarBlobs(t *testing.T) {
	f := newFakeLayout(t, amd64)
	path := filepath.Join(t.TempDir(), "layout.tar")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(file)
	write := func(name string, dt []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(dt)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(dt); err != nil {
			t.Fatal(err)
		}
	}
	write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	for d, dt := range f.blobs {
		write("blobs/sha256/"+d.Encoded(), dt)
	}
	big := make([]byte, 2048)
	write("blobs/sha256/"+digest.FromBytes(big).Encoded(), big)
	write("blobs/sha256/not-a-digest", []byte("x"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	blobs, err := ocilayout.SmallTarBlobs(path, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != len(f.blobs) {
		t.Errorf("read %d blobs, want the %d small ones", len(blobs), len(f.blobs))
	}
	for d, dt := range f.blobs {
		if string(blobs[d]) != string(dt) {
			t.Errorf("blob %s differs", d)
		}
	}
	ms, err := readManifests(context.Background(), OCITar(path), f.index, mustTargets(t, []ocispec.Platform{amd64}))
	if err != nil || len(ms) != 1 {
		t.Fatalf("readManifests from a tar: %v %+v", err, ms)
	}
}

func TestMetadataFile(t *testing.T) {
	idx := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("index"), Size: 5}
	r := &Result{
		BuildPlatform: amd64,
		Index:         idx,
		ImageName:     "127.0.0.1:5000/app:v1",
		Manifests: []PlatformManifest{
			{Platform: armv7, Manifest: ocispec.Descriptor{Digest: digest.FromString("m")}, Config: ocispec.Descriptor{Digest: digest.FromString("c")}},
		},
	}
	path := filepath.Join(t.TempDir(), "meta.json")
	if err := r.WriteMetadataFile(path); err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(dt, &got); err != nil {
		t.Fatal(err)
	}
	if got["containerimage.digest"] != idx.Digest.String() || got["image.name"] != "127.0.0.1:5000/app:v1" {
		t.Errorf("metadata = %s", dt)
	}
	desc, ok := got["containerimage.descriptor"].(map[string]any)
	if !ok || desc["digest"] != idx.Digest.String() || desc["mediaType"] != ocispec.MediaTypeImageIndex {
		t.Errorf("containerimage.descriptor = %v", got["containerimage.descriptor"])
	}
	ps, _ := got["platforms"].(map[string]any)
	p, _ := ps["linux/arm/v7"].(map[string]any)
	if p["manifest"] != digest.FromString("m").String() || p["config"] != digest.FromString("c").String() {
		t.Errorf("platforms = %v", got["platforms"])
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("a temporary file was left beside the metadata file: %v", entries)
	}
}

func TestParseExporterResponse(t *testing.T) {
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("i"), Size: 1}
	dt, _ := json.Marshal(desc)
	resp := map[string]string{
		exptypes.ExporterImageDescriptorKey: base64.StdEncoding.EncodeToString(dt),
		exptypes.ExporterImageNameKey:       "r/app:v1",
	}
	got, name, err := parseExporterResponse(resp)
	if err != nil || got.Digest != desc.Digest || name != "r/app:v1" {
		t.Errorf("parseExporterResponse = %+v %q %v", got, name, err)
	}
	resp[exptypes.ExporterImageDescriptorKey] = "%%%"
	if _, _, err := parseExporterResponse(resp); err == nil {
		t.Error("a malformed descriptor was accepted")
	}
}

func TestResultMetaEntries(t *testing.T) {
	var m resultMeta
	base := ocispec.Image{RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("layer")}}}
	if err := m.add("linux/arm/v7", armv7, ocispec.Image{Config: ocispec.ImageConfig{User: "app"}}, base); err != nil {
		t.Fatal(err)
	}
	// No base (scratch): no base config entry.
	if err := m.add("linux/amd64", amd64, ocispec.Image{}, ocispec.Image{}); err != nil {
		t.Fatal(err)
	}
	e, err := m.entries()
	if err != nil {
		t.Fatal(err)
	}
	var img ocispec.Image
	if err := json.Unmarshal(e["containerimage.config/linux/arm/v7"], &img); err != nil {
		t.Fatal(err)
	}
	if img.Architecture != "arm" || img.Variant != "v7" || img.OS != "linux" || img.Config.User != "app" {
		t.Errorf("config for arm/v7 = %+v", img)
	}
	var ps exptypes.Platforms
	if err := json.Unmarshal(e[exptypes.ExporterPlatformsKey], &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps.Platforms) != 2 || ps.Platforms[0].ID != "linux/arm/v7" || ps.Platforms[1].ID != "linux/amd64" {
		t.Errorf("refs.platforms = %+v", ps)
	}
	var got ocispec.Image
	if err := json.Unmarshal(e[exptypes.ExporterImageBaseConfigKey+"/linux/arm/v7"], &got); err != nil {
		t.Fatalf("base config for arm/v7: %v", err)
	}
	if !slices.Equal(got.RootFS.DiffIDs, base.RootFS.DiffIDs) {
		t.Errorf("base config for arm/v7 has layers %v, want %v", got.RootFS.DiffIDs, base.RootFS.DiffIDs)
	}
	if dt, ok := e[exptypes.ExporterImageBaseConfigKey+"/linux/amd64"]; ok {
		t.Errorf("a base config for amd64, which has none: %s", dt)
	}
}

func TestManifestsFromIndexWithAttestations(t *testing.T) {
	f := newFakeLayout(t, amd64)
	var idx ocispec.Index
	if err := json.Unmarshal(f.blobs[f.index.Digest], &idx); err != nil {
		t.Fatal(err)
	}
	target := idx.Manifests[0].Digest
	att := f.put(t, ocispec.MediaTypeImageManifest, ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest})
	att.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
	att.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": target.String()}
	idx.Manifests = append(idx.Manifests, att)
	f.index = f.put(t, ocispec.MediaTypeImageIndex, idx)

	got, err := manifestsFromIndex(context.Background(), f.fetch, f.index, mustTargets(t, []ocispec.Platform{amd64}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Attestation == nil || got[0].Attestation.Digest != att.Digest {
		t.Fatalf("got %+v, want amd64 with its attestation %s", got, att.Digest)
	}
	m := (&Result{BuildPlatform: amd64, Manifests: got}).Metadata()
	if m.Platforms["linux/amd64"].Attestation != att.Digest {
		t.Errorf("metadata = %+v", m.Platforms)
	}
}
