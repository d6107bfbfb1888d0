package solver

// This file and output.go's stage are where typed options become
// BuildKit's string maps (exporter attributes and result metadata keys).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func annotationAttrs(attrs map[string]string, index, manifest map[string]string) {
	for k, v := range index {
		attrs["annotation-index."+k] = v
	}
	for k, v := range manifest {
		attrs["annotation-manifest."+k] = v
	}
}

// exportSettings are what every image exporter of a build is told: the
// index's and manifests' annotations, the source date epoch, and the
// layers' compression.
type exportSettings struct {
	index, manifest map[string]string
	epoch           *time.Time
	compression     Compression
}

// exportSettings are o's.
func (o *buildOptions) exportSettings() exportSettings {
	return exportSettings{index: o.indexAnnotations, manifest: o.manifestAnnotations, epoch: o.epoch, compression: o.compression}
}

// attrs are the exporter attributes of s.
func (s exportSettings) attrs() map[string]string {
	attrs := map[string]string{}
	annotationAttrs(attrs, s.index, s.manifest)
	if s.epoch != nil {
		attrs[string(exptypes.OptKeySourceDateEpoch)] = strconv.FormatInt(s.epoch.Unix(), 10)
		attrs[string(exptypes.OptKeyRewriteTimestamp)] = "true"
	}
	s.compression.attrs(attrs)
	return attrs
}

// sinkEntry streams an OCI layout tar of the build's index to sink.
func sinkEntry(sink func() (io.WriteCloser, error), s exportSettings) client.ExportEntry {
	attrs := s.attrs()
	attrs["tar"] = "true"
	return client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs,
		Output: func(map[string]string) (io.WriteCloser, error) { return sink() }}
}

// resultMeta adds the per-target metadata that makes BuildKit's image
// exporters write one index: the image config under
// containerimage.config/<id> and the platform list under refs.platforms.
type resultMeta struct {
	platforms exptypes.Platforms
	configs   map[string][]byte
	bases     map[string][]byte
}

// add records target id's image config img, and the config of its base
// image if it has one (base has layers): BuildKit's exporter reads it as
// the Dockerfile frontend gives it.
func (m *resultMeta) add(id string, p ocispec.Platform, img, base ocispec.Image) error {
	img.OS, img.Architecture, img.Variant = p.OS, p.Architecture, p.Variant
	if img.OSVersion == "" {
		img.OSVersion = p.OSVersion
	}
	dt, err := json.Marshal(img)
	if err != nil {
		return fmt.Errorf("%s: image config: %w", id, err)
	}
	if m.configs == nil {
		m.configs = map[string][]byte{}
	}
	m.configs[id] = dt
	if len(base.RootFS.DiffIDs) > 0 {
		dt, err := json.Marshal(base)
		if err != nil {
			return fmt.Errorf("%s: base image config: %w", id, err)
		}
		if m.bases == nil {
			m.bases = map[string][]byte{}
		}
		m.bases[id] = dt
	}
	m.platforms.Platforms = append(m.platforms.Platforms, exptypes.Platform{ID: id, Platform: p})
	return nil
}

func (m *resultMeta) entries() (map[string][]byte, error) {
	out := map[string][]byte{}
	for id, dt := range m.configs {
		out[exptypes.ExporterImageConfigKey+"/"+id] = dt
	}
	for id, dt := range m.bases {
		out[exptypes.ExporterImageBaseConfigKey+"/"+id] = dt
	}
	dt, err := json.Marshal(m.platforms)
	if err != nil {
		return nil, err
	}
	out[exptypes.ExporterPlatformsKey] = dt
	return out, nil
}

// parseExporterResponse picks what callers need from BuildKit's response.
func parseExporterResponse(resp map[string]string) (index ocispec.Descriptor, name string, err error) {
	if s, ok := resp[exptypes.ExporterImageDescriptorKey]; ok {
		dt, derr := base64.StdEncoding.DecodeString(s)
		if derr != nil {
			return index, "", fmt.Errorf("decoding %s: %w", exptypes.ExporterImageDescriptorKey, derr)
		}
		if err := json.Unmarshal(dt, &index); err != nil {
			return index, "", fmt.Errorf("decoding %s: %w", exptypes.ExporterImageDescriptorKey, err)
		}
	}
	return index, resp[exptypes.ExporterImageNameKey], nil
}

func cacheEntry(c Cache, export bool) client.CacheOptionsEntry {
	attrs := map[string]string{}
	switch c.Kind {
	case CacheRegistry:
		attrs["ref"] = c.Ref
		if c.Insecure {
			attrs["registry.insecure"] = "true"
		}
	case CacheLocal:
		if export {
			attrs["dest"] = c.Dir
		} else {
			attrs["src"] = c.Dir
		}
	}
	if export {
		attrs["mode"] = "min"
		if c.Max {
			attrs["mode"] = "max"
		}
	}
	return client.CacheOptionsEntry{Type: string(c.Kind), Attrs: attrs}
}

// frontendAttrs are the build request's attributes: the requested platforms
// (BuildKit checks the result against them) and attestations.
func frontendAttrs(ids []string, provenance string) map[string]string {
	attrs := map[string]string{"platform": strings.Join(ids, ",")}
	if provenance != "" {
		attrs["attest:provenance"] = "mode=" + provenance
	}
	return attrs
}

// nameOCIExports gives OCI layout exports the image name of the build's
// registry exports. BuildKit names the subjects of attestations after the
// image name, so without it a layout's attestation manifests (and so its
// index) would differ from the registry's in the same build.
func nameOCIExports(entries []client.ExportEntry) {
	var names []string
	for _, e := range entries {
		if e.Type == client.ExporterImage {
			names = append(names, e.Attrs[string(exptypes.OptKeyName)])
		}
	}
	if len(names) == 0 {
		return
	}
	for _, e := range entries {
		if _, named := e.Attrs[string(exptypes.OptKeyName)]; e.Type == client.ExporterOCI && !named {
			e.Attrs[string(exptypes.OptKeyName)] = strings.Join(names, ",")
		}
	}
}
