package solver

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// writeTestPart writes an OCI layout at dir as one node's export of
// targets: a shared layer, a per-target config, a manifest per target and
// an attestation manifest per target, in a one-part index.
func writeTestPart(t *testing.T, dir string, targets ...string) *Result {
	t.Helper()
	put := func(mt string, dt []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
		if err := ocilayout.WriteBlob(dir, d, bytes.NewReader(dt)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	layer := put(ocispec.MediaTypeImageLayer, []byte("the same layer on every node"))
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	var atts []ocispec.Descriptor
	for _, id := range targets {
		p := platforms.MustParse(id)
		cfg := put(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"`+p.Architecture+`","os":"linux"}`))
		mdt, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
		m := put(ocispec.MediaTypeImageManifest, mdt)
		m.Platform = &p
		idx.Manifests = append(idx.Manifests, m)
		acfg := put("application/vnd.in-toto+json", []byte(`{"predicate":"`+id+`"}`))
		adt, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: acfg, Layers: []ocispec.Descriptor{acfg}})
		a := put(ocispec.MediaTypeImageManifest, adt)
		a.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
		a.Annotations = map[string]string{annotationReferenceType: "attestation-manifest", annotationReferenceDigest: m.Digest.String()}
		atts = append(atts, a)
	}
	idx.Manifests = append(idx.Manifests, atts...)
	dt, _ := json.MarshalIndent(idx, "", "  ")
	return &Result{Index: put(ocispec.MediaTypeImageIndex, dt)}
}

// Parts exported by different nodes merge into one layout: one index in
// the targets' order with the attestations after the images (BuildKit's
// order, so the digest matches a single-node build), shared blobs once.
func TestAssembleMergesParts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	targets := testTargets("linux/amd64,linux/arm64,linux/arm/v7")
	o := &buildOptions{attestationsInIndex: true, indexAnnotations: map[string]string{"k": "v"},
		outputs: []Output{OCITar(filepath.Join(dir, "out.tar")), OCIDir(filepath.Join(dir, "out"))}}
	asm, err := newAssembly(o, mustTargets(t, targets))
	if err != nil {
		t.Fatal(err)
	}
	defer asm.cleanup()
	// One node built arm/v7 and amd64 (in that order), another arm64.
	parts := []part{{res: writeTestPart(t, asm.merged, "linux/arm/v7", "linux/amd64")}, {res: writeTestPart(t, asm.merged, "linux/arm64")}}
	res := &Result{}
	if err := asm.assemble(ctx, o, parts, res); err != nil {
		t.Fatal(err)
	}
	asm.cleanup()
	noStrays(t, dir, "out.tar", "out")

	idxJSON, err := os.ReadFile(filepath.Join(dir, "out", "blobs", "sha256", res.Index.Digest.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(idxJSON, &idx); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range idx.Manifests {
		order = append(order, platforms.Format(*m.Platform))
	}
	want := []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "unknown/unknown", "unknown/unknown", "unknown/unknown"}
	if len(order) != len(want) {
		t.Fatalf("index lists %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("index lists %v, want %v", order, want)
		}
	}
	for i := 0; i < 3; i++ {
		if got := idx.Manifests[3+i].Annotations[annotationReferenceDigest]; got != idx.Manifests[i].Digest.String() {
			t.Errorf("attestation %d refers to %s, want %s (same order as the images)", i, got, idx.Manifests[i].Digest)
		}
	}
	again, _ := json.MarshalIndent(idx, "", "  ")
	if !bytes.Equal(again, idxJSON) || idx.Annotations["k"] != "v" {
		t.Errorf("the index is not BuildKit's encoding:\n%s", idxJSON)
	}
	if len(res.Manifests) != 3 || res.Manifests[2].Attestation == nil || res.Manifests[1].Config.Digest == "" {
		t.Errorf("result manifests: %+v", res.Manifests)
	}
	if res.ExporterResponse["containerimage.digest"] != res.Index.Digest.String() {
		t.Errorf("exporter response %v", res.ExporterResponse)
	}

	// The directory and the tar hold the same files; the shared layer once.
	var dirFiles []string
	filepath.Walk(filepath.Join(dir, "out"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(dir, "out"), p)
			dirFiles = append(dirFiles, rel)
		}
		return err
	})
	f, err := os.Open(filepath.Join(dir, "out.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tarFiles []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tarFiles = append(tarFiles, h.Name)
		}
	}
	sort.Strings(dirFiles)
	sort.Strings(tarFiles)
	// 1 layer + 3 configs + 3 manifests + 3 attestation configs + 3
	// attestation manifests + the index, index.json and oci-layout.
	if len(dirFiles) != 16 || len(tarFiles) != len(dirFiles) {
		t.Errorf("directory holds %d files %v, tar %d %v; want 16 each", len(dirFiles), dirFiles, len(tarFiles), tarFiles)
	}
	for i := range dirFiles {
		if i < len(tarFiles) && dirFiles[i] != tarFiles[i] {
			t.Errorf("directory file %s, tar file %s", dirFiles[i], tarFiles[i])
		}
	}
	var top ocispec.Index
	dt, _ := os.ReadFile(filepath.Join(dir, "out", "index.json"))
	if err := json.Unmarshal(dt, &top); err != nil || len(top.Manifests) != 1 || top.Manifests[0].Digest != res.Index.Digest {
		t.Errorf("index.json = %s (%v), want the one index %s", dt, err, res.Index.Digest)
	}
}

// Without attestations in the index, only the images are listed; the
// result still names each attestation manifest.
func TestAssembleWithoutAttestations(t *testing.T) {
	dir := t.TempDir()
	targets := testTargets("linux/amd64,linux/arm64")
	o := &buildOptions{attestationsInIndex: false, outputs: []Output{OCIDir(filepath.Join(dir, "out"))}}
	asm, err := newAssembly(o, mustTargets(t, targets))
	if err != nil {
		t.Fatal(err)
	}
	defer asm.cleanup()
	res := &Result{}
	if err := asm.assemble(context.Background(), o, []part{{res: writeTestPart(t, asm.merged, "linux/amd64", "linux/arm64")}}, res); err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(filepath.Join(dir, "out", "blobs", "sha256", res.Index.Digest.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 2 {
		t.Errorf("index lists %d manifests, want the 2 images only", len(idx.Manifests))
	}
	for _, m := range res.Manifests {
		if m.Attestation == nil {
			t.Errorf("%s: the result lost its attestation", platforms.Format(m.Platform))
		}
	}
}

// A part that lacks a target's manifest fails the assembly, naming it.
func TestAssembleMissingTarget(t *testing.T) {
	dir := t.TempDir()
	o := &buildOptions{attestationsInIndex: true, outputs: []Output{OCITar(filepath.Join(dir, "out.tar"))}}
	asm, err := newAssembly(o, mustTargets(t, testTargets("linux/amd64,linux/s390x")))
	if err != nil {
		t.Fatal(err)
	}
	err = asm.assemble(context.Background(), o, []part{{res: writeTestPart(t, asm.merged, "linux/amd64")}}, &Result{})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("linux/s390x")) {
		t.Errorf("assemble = %v, want an error naming linux/s390x", err)
	}
	asm.cleanup()
	noStrays(t, dir)
}

func noStrays(t *testing.T, dir string, keep ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	ok := map[string]bool{}
	for _, k := range keep {
		ok[k] = true
	}
	for _, e := range entries {
		if !ok[e.Name()] {
			t.Errorf("%s holds %s", dir, e.Name())
		}
	}
}

// relay gives each build's vertices digests of their own and labels them.
func TestRelay(t *testing.T) {
	d := digest.FromString("step")
	in, out := make(chan *client.SolveStatus, 1), make(chan *client.SolveStatus, 2)
	in <- &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: d, Name: "go build", Inputs: []digest.Digest{d}}},
		Statuses: []*client.VertexStatus{{Vertex: d}}, Logs: []*client.VertexLog{{Vertex: d}}}
	close(in)
	relay("node-a linux/arm64", in, out)
	s := <-out
	v := s.Vertexes[0]
	if v.Digest == d || v.Name != "[node-a linux/arm64] go build" || v.Inputs[0] != v.Digest || s.Statuses[0].Vertex != v.Digest || s.Logs[0].Vertex != v.Digest {
		t.Errorf("relayed %+v", s)
	}
}
