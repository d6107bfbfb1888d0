package ocilayout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// put stores v (JSON, or raw bytes) as a blob of the layout at dir.
func put(t *testing.T, dir, mediaType string, v any) (ocispec.Descriptor, []byte) {
	t.Helper()
	dt, ok := v.([]byte)
	if !ok {
		var err error
		if dt, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	if err := ocilayout.WriteBlob(dir, d, bytes.NewReader(dt)); err != nil {
		t.Fatal(err)
	}
	return d, dt
}

// image writes a one-manifest image and its index blob's bytes (not
// stored) into dir.
func image(t *testing.T, dir, layer string) (ocispec.Descriptor, []byte, ocispec.Descriptor) {
	t.Helper()
	l, _ := put(t, dir, ocispec.MediaTypeImageLayer, []byte(layer))
	c, _ := put(t, dir, ocispec.MediaTypeImageConfig, ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
	m, _ := put(t, dir, ocispec.MediaTypeImageManifest, ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: c, Layers: []ocispec.Descriptor{l}})
	idx, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{m}})
	if err != nil {
		t.Fatal(err)
	}
	return m, idx, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(idx), Size: int64(len(idx))}
}

// Finish keeps what the index reaches and drops the rest; WriteTar gives
// the same bytes for the same layout, whenever it runs.
func TestFinishAndWriteTar(t *testing.T) {
	created := time.Unix(1700000000, 0)
	tars := make([][]byte, 2)
	for i := range tars {
		dir := t.TempDir()
		stray, _ := put(t, dir, ocispec.MediaTypeImageLayer, []byte("a retried attempt's layer"))
		m, idx, desc := image(t, dir, "layer")
		if err := ocilayout.Finish(context.Background(), dir, []ocispec.Descriptor{m}, idx, desc, created); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(ocilayout.BlobPath(dir, stray.Digest)); err == nil {
			t.Error("a blob the index does not reach was kept")
		}
		got, err := ocilayout.ReadIndex(dir)
		if err != nil || len(got.Manifests) != 1 || got.Manifests[0].Digest != desc.Digest ||
			got.Manifests[0].Annotations[ocispec.AnnotationCreated] != "2023-11-14T22:13:20Z" {
			t.Errorf("index.json = %+v, %v", got, err)
		}
		if _, err := os.Stat(filepath.Join(dir, ocispec.ImageLayoutFile)); err != nil {
			t.Error(err)
		}
		var buf bytes.Buffer
		if err := ocilayout.WriteTar(dir, &buf); err != nil {
			t.Fatal(err)
		}
		tars[i] = buf.Bytes()
		time.Sleep(10 * time.Millisecond) // other mtimes
	}
	if !bytes.Equal(tars[0], tars[1]) {
		t.Error("two tars of the same layout differ")
	}
}

// Finish refuses a layout that lacks a blob a manifest names.
func TestFinishMissingBlob(t *testing.T) {
	dir := t.TempDir()
	m, idx, desc := image(t, dir, "layer")
	l := digest.FromBytes([]byte("layer"))
	if err := os.Remove(ocilayout.BlobPath(dir, l)); err != nil {
		t.Fatal(err)
	}
	err := ocilayout.Finish(context.Background(), dir, []ocispec.Descriptor{m}, idx, desc, time.Now())
	if err == nil || !strings.Contains(err.Error(), l.String()) {
		t.Errorf("Finish without a layer = %v, want an error naming %s", err, l)
	}
}

// KeepOtherImages carries the old layout's other images into the new
// one; the new image replaces the old one of its name.
func TestKeepOtherImages(t *testing.T) {
	old, dir := t.TempDir(), t.TempDir()
	name := func(n string) map[string]string { return map[string]string{ocispec.AnnotationRefName: n} }
	for _, n := range []string{"v1", "v2"} {
		_, idx, desc := image(t, old, "layer "+n)
		put(t, old, ocispec.MediaTypeImageIndex, idx)
		if n == "v1" {
			if err := ocilayout.WriteIndex(old, desc, time.Now(), name(n)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// A second entry: append to the old index.json.
		oi, err := ocilayout.ReadIndex(old)
		if err != nil {
			t.Fatal(err)
		}
		desc.Annotations = name(n)
		oi.Manifests = append(oi.Manifests, desc)
		dt, _ := json.Marshal(oi)
		if err := os.WriteFile(filepath.Join(old, ocispec.ImageIndexFile), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, idx, desc := image(t, dir, "new v2")
	if err := ocilayout.Finish(context.Background(), dir, []ocispec.Descriptor{m}, idx, desc, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := ocilayout.WriteIndex(dir, desc, time.Now(), name("v2")); err != nil {
		t.Fatal(err)
	}
	if err := ocilayout.KeepOtherImages(old, dir); err != nil {
		t.Fatal(err)
	}
	got, err := ocilayout.ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range got.Manifests {
		names = append(names, ocilayout.Name(d))
	}
	if strings.Join(names, ",") != "v2,v1" {
		t.Errorf("images %v, want the new v2 then the kept v1", names)
	}
	if _, err := os.Stat(ocilayout.BlobPath(dir, digest.FromBytes([]byte("layer v1")))); err != nil {
		t.Errorf("v1's layer was not carried: %v", err)
	}
	if _, err := os.Stat(ocilayout.BlobPath(dir, digest.FromBytes([]byte("layer v2")))); err == nil {
		t.Error("the replaced v2's layer was carried")
	}
}
