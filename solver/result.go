package solver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// Result describes what a build exported.
type Result struct {
	// BuildPlatform is the daemon's native platform the build ran on.
	BuildPlatform ocispec.Platform
	// Index is the image index's descriptor (zero without outputs).
	Index ocispec.Descriptor
	// Manifests holds one entry per target, in the request's order.
	Manifests []PlatformManifest
	// ImageName is the pushed name, for registry outputs.
	ImageName string
	// ExporterResponse is BuildKit's raw exporter response.
	ExporterResponse map[string]string
	// Emulated lists the exec steps that ran under emulation.
	Emulated []EmulatedStep
	// Verified lists the binaries checked against their target (WithVerify).
	Verified []VerifiedBinary
	// Plan says which node built each target, natively or cross-compiled.
	Plan Plan
}

// PlatformManifest is one platform's entry of the index.
type PlatformManifest struct {
	Platform ocispec.Platform
	Manifest ocispec.Descriptor
	Config   ocispec.Descriptor
	// Attestation is the attestation manifest (provenance) that refers to
	// Manifest, when one was requested.
	Attestation *ocispec.Descriptor
}

// Metadata is the buildx-style metadata document (--metadata-file).
type Metadata struct {
	ImageDigest     digest.Digest                   `json:"containerimage.digest,omitempty"`
	ImageDescriptor *ocispec.Descriptor             `json:"containerimage.descriptor,omitempty"`
	ImageName       string                          `json:"image.name,omitempty"`
	BuildPlatform   string                          `json:"crossllb.build-platform"`
	Platforms       map[string]PlatformDigestsEntry `json:"platforms,omitempty"`
	// Emulated and Verified are keyed by target platform.
	Emulated map[string][]EmulatedStep   `json:"crossllb.emulated,omitempty"`
	Verified map[string][]VerifiedBinary `json:"crossllb.verified,omitempty"`
	// Nodes says where each target was built, keyed by target platform.
	Nodes map[string]NodeEntry `json:"crossllb.nodes,omitempty"`
}

// NodeEntry is one value of Metadata.Nodes.
type NodeEntry struct {
	Node    string   `json:"node"`
	Build   string   `json:"build"`
	Native  bool     `json:"native"`
	Retried []string `json:"retried,omitempty"`
}

// PlatformDigestsEntry is one value of Metadata.Platforms.
type PlatformDigestsEntry struct {
	Manifest    digest.Digest `json:"manifest"`
	Config      digest.Digest `json:"config"`
	Attestation digest.Digest `json:"attestation,omitempty"`
}

// Metadata returns r as a buildx-style metadata document.
func (r *Result) Metadata() Metadata {
	m := Metadata{ImageName: r.ImageName, BuildPlatform: platforms.Format(r.BuildPlatform)}
	if r.Index.Digest != "" {
		idx := r.Index
		m.ImageDigest, m.ImageDescriptor = idx.Digest, &idx
	}
	if len(r.Manifests) > 0 {
		m.Platforms = map[string]PlatformDigestsEntry{}
		for _, pm := range r.Manifests {
			e := PlatformDigestsEntry{Manifest: pm.Manifest.Digest, Config: pm.Config.Digest}
			if pm.Attestation != nil {
				e.Attestation = pm.Attestation.Digest
			}
			m.Platforms[platforms.Format(pm.Platform)] = e
		}
	}
	for _, s := range r.Emulated {
		if m.Emulated == nil {
			m.Emulated = map[string][]EmulatedStep{}
		}
		id := platforms.Format(s.Target)
		m.Emulated[id] = append(m.Emulated[id], s)
	}
	for _, a := range r.Plan {
		if m.Nodes == nil {
			m.Nodes = map[string]NodeEntry{}
		}
		m.Nodes[platforms.Format(a.Target)] = NodeEntry{Node: a.Node, Build: platforms.Format(a.Build), Native: a.Native, Retried: a.Retried}
	}
	for _, v := range r.Verified {
		if m.Verified == nil {
			m.Verified = map[string][]VerifiedBinary{}
		}
		id := platforms.Format(v.Platform)
		m.Verified[id] = append(m.Verified[id], v)
	}
	return m
}

// WriteMetadataFile writes r.Metadata() as indented JSON to path, through a
// temporary file and a rename.
func (r *Result) WriteMetadataFile(path string) error {
	dt, err := json.MarshalIndent(r.Metadata(), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(dt, '\n'))
}

func writeFileAtomic(path string, dt []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(dt)
	err = errors.Join(err, f.Chmod(0o644), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// BuildKit's annotations on attestation manifests in an index.
const (
	annotationReferenceType   = "vnd.docker.reference.type"
	annotationReferenceDigest = "vnd.docker.reference.digest"
)

func manifestsFromIndex(ctx context.Context, fetch ocilayout.Fetcher, index ocispec.Descriptor, targets []target) ([]PlatformManifest, error) {
	dt, err := ocilayout.FetchVerified(ctx, fetch, index.Digest)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", index.Digest, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, fmt.Errorf("index %s: %w", index.Digest, err)
	}
	byID := map[string]ocispec.Descriptor{}
	attestations := map[digest.Digest]ocispec.Descriptor{} // by the manifest they refer to
	for _, m := range idx.Manifests {
		if m.Annotations[annotationReferenceType] == "attestation-manifest" {
			attestations[digest.Digest(m.Annotations[annotationReferenceDigest])] = m
			continue
		}
		if m.Platform == nil {
			continue
		}
		byID[platforms.Format(*m.Platform)] = m
	}
	out := make([]PlatformManifest, 0, len(targets))
	for _, t := range targets {
		id := t.id
		md, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("index %s has no manifest for %s", index.Digest, id)
		}
		mdt, err := ocilayout.FetchVerified(ctx, fetch, md.Digest)
		if err != nil {
			return nil, fmt.Errorf("manifest %s (%s): %w", md.Digest, id, err)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(mdt, &m); err != nil {
			return nil, fmt.Errorf("manifest %s (%s): %w", md.Digest, id, err)
		}
		pm := PlatformManifest{Platform: *md.Platform, Manifest: md, Config: m.Config}
		if a, ok := attestations[md.Digest]; ok {
			pm.Attestation = &a
		}
		out = append(out, pm)
	}
	return out, nil
}
