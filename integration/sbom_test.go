package integration

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// scanScript is a stand-in for Syft (whose image no registry here serves)
// that speaks BuildKit's scanner protocol: it lists the files of the root
// filesystem at $BUILDKIT_SCAN_SOURCE as an SPDX document, in an in-toto
// statement in $BUILDKIT_SCAN_DESTINATION.
const scanScript = `set -e
files=$(cd "$BUILDKIT_SCAN_SOURCE" && find . -type f | sort | sed 's|^\./||' | awk '{printf "%s{\"fileName\":\"%s\",\"SPDXID\":\"SPDXRef-File-%d\"}", (NR>1?",":""), $0, NR}')
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"crossllb-test-scanner","files":[%s]}}' "$files" > "$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json"
`

// --attest type=sbom runs the generator over every target's root
// filesystem through BuildKit's scanner protocol and attaches the result to
// the platform's manifest. The generator here is a stand-in built by the
// test (with crossllb) and pushed to the local registry.
func TestGobuildSBOM(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 20*time.Minute)
	c := connect(t, ctx)
	scanner := registryAddr(t) + "/crossllb-test/scanner:" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	mk := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		st := bk.Image("debian:bookworm-slim", bk.Platform(t.Platform)).File(bk.Mkfile("/scan.sh", 0o755, []byte(scanScript)))
		img := ocispec.Image{Platform: t.Platform}
		img.Config.Cmd = []string{"/bin/sh", "/scan.sh"}
		img.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		return st, img, nil
	}
	if _, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, mk,
		solver.WithOutput(solver.Registry(scanner, solver.Insecure()))); err != nil {
		t.Fatalf("building the stand-in scanner: %v", err)
	}

	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	meta := filepath.Join(dir, "meta.json")
	mustGobuild(t, ctx, "--platform", "linux/amd64,linux/arm64", "--attest", "type=sbom,generator="+scanner,
		"--output", "type=oci,dest="+layoutDir+",tar=false", "--metadata-file", meta)
	m := readMetadata(t, meta)
	idx := onlyIndex(t, layoutDir)
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
		var spdx *v1.Descriptor
		for i, l := range am.Layers {
			if l.Annotations["in-toto.io/predicate-type"] == "https://spdx.dev/Document" {
				spdx = &am.Layers[i]
			}
		}
		if spdx == nil {
			t.Fatalf("%s: attestation manifest has no SPDX layer: %+v", p, am.Layers)
		}
		layer, err := att.LayerByDigest(spdx.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		var stmt struct {
			PredicateType string `json:"predicateType"`
			Predicate     struct {
				Files []struct {
					FileName string `json:"fileName"`
				} `json:"files"`
			} `json:"predicate"`
		}
		err = json.NewDecoder(rc).Decode(&stmt)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: SPDX statement: %v", p, err)
		}
		found := false
		for _, f := range stmt.Predicate.Files {
			found = found || strings.HasSuffix(f.FileName, helloBinary)
		}
		if !found {
			t.Errorf("%s: the SBOM does not list %s: %+v", p, helloBinary, stmt.Predicate.Files)
		}
		if stmt.PredicateType != "https://spdx.dev/Document" {
			t.Errorf("%s: predicate type %q", p, stmt.PredicateType)
		}
		// The index says which manifest the attestation is about.
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		refers := ""
		for _, d := range im.Manifests {
			if d.Digest.String() == e.Attestation.String() {
				refers = d.Annotations["vnd.docker.reference.digest"]
			}
		}
		if refers != e.Manifest.String() {
			t.Errorf("%s: the attestation refers to %q, want the manifest %s", p, refers, e.Manifest)
		}
	}
}
