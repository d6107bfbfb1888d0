package solver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// assembly turns the parts of a build (each a BuildKit build of some
// targets, possibly on different nodes) into one image index per output.
// Each part streams an OCI layout tar, whose blobs are verified and stored
// (once) in one layout directory under partsDir as they arrive (for OCI
// tar and directory outputs), and pushes by digest, untagged (for registry
// outputs); assemble then writes the index.
type assembly struct {
	targets  []target
	local    []Output // OCI tar and directory outputs
	registry []Output
	partsDir string // "" without local outputs
	merged   string // the layout the parts' blobs are stored in

	mu    sync.Mutex
	sinks []*io.PipeWriter
}

func newAssembly(o *buildOptions, targets []target) (*assembly, error) {
	a := &assembly{targets: targets}
	for _, out := range o.outputs {
		if out.Kind == KindRegistry {
			a.registry = append(a.registry, out)
		} else {
			a.local = append(a.local, out)
		}
	}
	if len(a.local) > 0 {
		dir, err := os.MkdirTemp(partsDirFor(a.local), ".crossllb-parts-*")
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", a.local[0], err)
		}
		a.partsDir, a.merged = dir, filepath.Join(dir, "layout")
	}
	return a, nil
}

// errAborted ends the parts' streams that BuildKit left open.
var errAborted = errors.New("build aborted")

// cleanup ends every part's stream and removes what was received.
func (a *assembly) cleanup() {
	a.mu.Lock()
	for _, w := range a.sinks {
		_ = w.CloseWithError(errAborted)
	}
	a.sinks = nil
	a.mu.Unlock()
	if a.partsDir != "" {
		_ = os.RemoveAll(a.partsDir)
	}
}

// sink receives one part's OCI layout tar: its blobs go into the merged
// layout as they arrive. Close returns once every blob is stored.
func (a *assembly) sink() (io.WriteCloser, error) {
	pr, pw := io.Pipe()
	s := &sinkWriter{PipeWriter: pw, done: make(chan error, 1)}
	a.mu.Lock()
	a.sinks = append(a.sinks, pw)
	a.mu.Unlock()
	go func() {
		err := ocilayout.ExtractBlobs(pr, a.merged)
		_ = pr.CloseWithError(err) // unblocks the writer on a bad stream
		s.done <- err
	}()
	return s, nil
}

type sinkWriter struct {
	*io.PipeWriter
	done chan error
}

func (s *sinkWriter) Close() error {
	_ = s.PipeWriter.Close()
	if err := <-s.done; err != nil {
		return fmt.Errorf("receiving a node's layout: %w", err)
	}
	return nil
}

// part is one BuildKit build of some of the targets.
type part struct{ res *Result }

// partOptions are o for a part: its exports (the stream into the merged
// layout, untagged registry pushes), no metadata file, and, for a part
// that is one target of a fleet build (target not nil), that target's
// cache refs.
func (a *assembly) partOptions(o *buildOptions, t *target) (*buildOptions, error) {
	po := *o
	po.outputs, po.metadataFile, po.part = nil, "", &partExport{}
	if a.merged != "" {
		po.part.sink = a.sink
	}
	for _, out := range a.registry {
		// Untagged: BuildKit refuses to push a tagged name by digest.
		named, err := reference.ParseNormalizedNamed(out.Name)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", out, err)
		}
		out.Name = reference.TrimNamed(named).String()
		po.outputs = append(po.outputs, out)
	}
	if t != nil {
		po.cacheTo = nil
		for _, c := range o.cacheTo {
			po.cacheTo = append(po.cacheTo, c.forTarget(t.slug()))
		}
		po.cacheFrom = nil
		for _, c := range o.cacheFrom {
			for _, u := range a.targets {
				po.cacheFrom = append(po.cacheFrom, c.forTarget(u.slug()))
			}
		}
	}
	return &po, nil
}

// partFetcher reads small blobs (indexes, manifests) of the parts.
func (a *assembly) partFetcher() (ocilayout.Fetcher, error) {
	if a.merged != "" {
		return ocilayout.DirFetcher(a.merged), nil
	}
	return registryFetcher(a.registry[0])
}

// assemble writes one index of every part's manifests to each output,
// fills res with its descriptors, and moves local outputs into place.
func (a *assembly) assemble(ctx context.Context, o *buildOptions, parts []part, res *Result) error {
	ix, err := a.index(ctx, o, parts)
	if err != nil {
		return err
	}
	commits, err := a.writeLocal(ctx, o, ix, res)
	defer func() {
		for _, s := range commits {
			s.abort()
		}
	}()
	if err != nil {
		return err
	}
	// The tags last: every manifest is in the registry by now.
	for _, out := range a.registry {
		if err := pushIndex(ctx, out, ix.json); err != nil {
			return err
		}
		if res.Manifests == nil {
			fetch, err := registryFetcher(out)
			if err != nil {
				return err
			}
			if res.Manifests, err = manifestsFromIndex(ctx, fetch, ix.desc, a.targets); err != nil {
				return fmt.Errorf("reading back the assembled index from %s: %w", out, err)
			}
		}
	}
	for _, s := range commits {
		if err := s.commit(); err != nil {
			return err
		}
		defer s.release()
	}
	commits = nil
	return a.describe(ix, res)
}

// assembledIndex is the index of the whole build, over every part's
// manifests.
type assembledIndex struct {
	index ocispec.Index
	json  []byte
	desc  ocispec.Descriptor
	// atts are the attestation manifests by the manifest they refer to;
	// attList the targets' ones in the targets' order (in the index or
	// not, as o.attestationsInIndex says).
	atts    map[digest.Digest]ocispec.Descriptor
	attList []ocispec.Descriptor
}

// index reads every part's index and makes the build's: every image
// manifest in the targets' order, then their attestation manifests in the
// same order, as BuildKit orders them.
func (a *assembly) index(ctx context.Context, o *buildOptions, parts []part) (*assembledIndex, error) {
	images := map[string]ocispec.Descriptor{}
	ix := &assembledIndex{atts: map[digest.Digest]ocispec.Descriptor{}}
	fetch, err := a.partFetcher()
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		dt, err := ocilayout.FetchVerified(ctx, fetch, p.res.Index.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading the index %s a node exported: %w", p.res.Index.Digest, err)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(dt, &idx); err != nil {
			return nil, fmt.Errorf("reading the index %s a node exported: %w", p.res.Index.Digest, err)
		}
		for _, m := range idx.Manifests {
			if m.Annotations[annotationReferenceType] == "attestation-manifest" {
				ix.atts[digest.Digest(m.Annotations[annotationReferenceDigest])] = m
				continue
			}
			if m.Platform != nil {
				images[platforms.Format(*m.Platform)] = m
			}
		}
	}
	ix.index = ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	if len(o.indexAnnotations) > 0 {
		ix.index.Annotations = o.indexAnnotations
	}
	for _, t := range a.targets {
		m, ok := images[t.id]
		if !ok {
			return nil, fmt.Errorf("no node exported a manifest for %s", t.id)
		}
		ix.index.Manifests = append(ix.index.Manifests, m)
		if att, ok := ix.atts[m.Digest]; ok {
			ix.attList = append(ix.attList, att)
		}
	}
	if o.attestationsInIndex {
		ix.index.Manifests = append(ix.index.Manifests, ix.attList...)
	}
	if ix.json, err = json.MarshalIndent(ix.index, "", "  "); err != nil {
		return nil, err
	}
	ix.desc = ocispec.Descriptor{MediaType: ix.index.MediaType, Digest: digest.FromBytes(ix.json), Size: int64(len(ix.json))}
	return ix, nil
}

// writeLocal finishes the merged layout around ix, reads its manifests
// into res, and stages every OCI tar and directory output from it: the
// staged outputs are returned, also with an error, for the caller to
// commit or abort.
func (a *assembly) writeLocal(ctx context.Context, o *buildOptions, ix *assembledIndex, res *Result) ([]*staged, error) {
	if len(a.local) == 0 {
		return nil, nil
	}
	merged := a.merged
	// The attestation manifests are written even when the index leaves
	// them out: Result.Manifests names them.
	blobs := append(slices.Clip(ix.index.Manifests[:len(a.targets)]), ix.attList...)
	if err := ocilayout.Finish(ctx, merged, blobs, ix.json, ix.desc, createdAt(o.epoch)); err != nil {
		return nil, fmt.Errorf("merging the nodes' layouts: %w", err)
	}
	var err error
	if res.Manifests, err = manifestsFromIndex(ctx, ocilayout.DirFetcher(merged), ix.desc, a.targets); err != nil {
		return nil, fmt.Errorf("reading back the assembled index: %w", err)
	}
	var commits []*staged
	// Tars first: the directory output takes the merged layout itself.
	for _, kind := range []OutputKind{KindOCITar, KindOCIDir} {
		for _, out := range a.local {
			if out.Kind != kind {
				continue
			}
			s, err := stage(out, exportSettings{}, false)
			if err != nil {
				return commits, err
			}
			commits = append(commits, s)
			if err := ocilayout.WriteIndex(merged, ix.desc, createdAt(o.epoch), layoutNames(out.Name)); err != nil {
				return commits, fmt.Errorf("output %s: %w", out, err)
			}
			if kind == KindOCITar {
				err = ocilayout.WriteTar(merged, s.tar)
			} else {
				err = ocilayout.Move(merged, s.tmp)
			}
			if err != nil {
				return commits, fmt.Errorf("output %s: %w", out, err)
			}
		}
	}
	return commits, nil
}

// describe fills in what res says of the assembled index: its descriptor,
// name and exporter response (as BuildKit's exporter would give them), and
// each manifest's attestation.
func (a *assembly) describe(ix *assembledIndex, res *Result) error {
	res.Index = ix.desc
	if len(a.registry) > 0 {
		res.ImageName = a.registry[0].Name
	}
	descJSON, err := json.Marshal(ix.desc)
	if err != nil {
		return err
	}
	res.ExporterResponse = map[string]string{
		exptypes.ExporterImageDigestKey:     ix.desc.Digest.String(),
		exptypes.ExporterImageDescriptorKey: base64.StdEncoding.EncodeToString(descJSON),
	}
	if res.ImageName != "" {
		res.ExporterResponse[exptypes.ExporterImageNameKey] = res.ImageName
	}
	for i := range res.Manifests {
		if att, ok := ix.atts[res.Manifests[i].Manifest.Digest]; ok && res.Manifests[i].Attestation == nil {
			res.Manifests[i].Attestation = &att
		}
	}
	return nil
}

// rawIndex is an index's bytes as ggcr's remote.Put takes them.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// pushIndex puts the assembled index at out's tag. Its manifests are in
// the repository already (the nodes pushed them by digest).
func pushIndex(ctx context.Context, out Output, idxJSON []byte) error {
	ref, err := name.ParseReference(out.Name, nameOpts(out)...)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	if err := remote.Put(ref, rawIndex(idxJSON), remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("output %s: pushing the index to %s: %w", out, ref.Context().RegistryStr(), err)
	}
	return nil
}

func registryFetcher(out Output) (ocilayout.Fetcher, error) {
	ref, err := name.ParseReference(out.Name, nameOpts(out)...)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	return func(ctx context.Context, d digest.Digest) ([]byte, error) {
		desc, err := remote.Get(ref.Context().Digest(d.String()), remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return nil, err
		}
		return desc.Manifest, nil
	}, nil
}

// createdAt is the date of a layout's index.json: the build's epoch
// (SOURCE_DATE_EPOCH), else now.
func createdAt(epoch *time.Time) time.Time {
	if epoch != nil {
		return epoch.UTC()
	}
	return time.Now().UTC()
}
