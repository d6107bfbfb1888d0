package solver

// This file is the one place where typed options become BuildKit's string
// maps (exporter attributes and result metadata keys).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// staged is an output being written: BuildKit writes to tmp, and commit
// moves it to its destination only once the whole build has succeeded.
type staged struct {
	out   Output
	entry client.ExportEntry
	tmp   string
	files []*os.File // tar outputs opened by BuildKit's callback
	tar   io.Writer  // where a tar output goes: files[0], or standard output
}

// stdoutTar is standard output as a tar destination: closing it leaves
// standard output open.
type stdoutTar struct{ io.Writer }

func (stdoutTar) Close() error { return nil }

func annotationAttrs(attrs map[string]string, index, manifest map[string]string) {
	for k, v := range index {
		attrs["annotation-index."+k] = v
	}
	for k, v := range manifest {
		attrs["annotation-manifest."+k] = v
	}
}

// exportAttrs are the attributes every image exporter of a build gets.
func exportAttrs(index, manifest map[string]string, epoch *time.Time) map[string]string {
	attrs := map[string]string{}
	annotationAttrs(attrs, index, manifest)
	if epoch != nil {
		attrs[string(exptypes.OptKeySourceDateEpoch)] = strconv.FormatInt(epoch.Unix(), 10)
		attrs[string(exptypes.OptKeyRewriteTimestamp)] = "true"
	}
	return attrs
}

// sinkEntry streams an OCI layout tar of the build's index to sink.
func sinkEntry(sink func() (io.WriteCloser, error), index, manifest map[string]string, epoch *time.Time) client.ExportEntry {
	attrs := exportAttrs(index, manifest, epoch)
	attrs["tar"] = "true"
	return client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs,
		Output: func(map[string]string) (io.WriteCloser, error) { return sink() }}
}

// stage prepares the export entry for o, with temporary destinations.
func stage(o Output, index, manifest map[string]string, epoch *time.Time, byDigest bool) (*staged, error) {
	s := &staged{out: o}
	attrs := exportAttrs(index, manifest, epoch)
	if o.Name != "" {
		attrs[string(exptypes.OptKeyName)] = o.Name
	}
	switch o.Kind {
	case KindOCITar:
		attrs["tar"] = "true"
		if o.ToStdout() {
			// Streamed as it is written, and teed to a temporary file
			// that the result is read back from (readBack), then removed.
			f, err := os.CreateTemp("", "crossllb-stdout-*.tar")
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", o, err)
			}
			s.tmp = f.Name()
			s.files = append(s.files, f)
			s.tar = io.MultiWriter(os.Stdout, f)
			s.entry = client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs,
				Output: func(map[string]string) (io.WriteCloser, error) { return stdoutTar{s.tar}, nil }}
			break
		}
		dir, base := filepath.Dir(o.Dest), filepath.Base(o.Dest)
		f, err := os.CreateTemp(dir, "."+base+".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o, err)
		}
		s.tmp = f.Name()
		s.files = append(s.files, f)
		s.tar = f
		s.entry = client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs,
			Output: func(map[string]string) (io.WriteCloser, error) { return f, nil }}
	case KindOCIDir:
		attrs["tar"] = "false"
		dir, base := filepath.Dir(o.Dest), filepath.Base(o.Dest)
		tmp, err := os.MkdirTemp(dir, "."+base+".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o, err)
		}
		s.tmp = tmp
		s.entry = client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs, OutputDir: tmp}
	case KindRegistry:
		attrs[string(exptypes.OptKeyPush)] = "true"
		if byDigest {
			// Untagged: a fleet tags the index it assembles, last.
			attrs[string(exptypes.OptKeyPushByDigest)] = "true"
		}
		attrs[string(exptypes.OptKeyOCITypes)] = "true"
		if o.Insecure {
			attrs[string(exptypes.OptKeyInsecure)] = "true"
		}
		s.entry = client.ExportEntry{Type: client.ExporterImage, Attrs: attrs}
	default:
		return nil, o.Validate()
	}
	return s, nil
}

// commit moves a finished output into place.
func (s *staged) commit() error {
	for _, f := range s.files {
		_ = f.Close() // BuildKit closes it; a second close is harmless
	}
	switch s.out.Kind {
	case KindOCITar:
		if s.out.ToStdout() {
			return nil // written already; the tee is removed by release
		}
		if err := os.Chmod(s.tmp, 0o644); err != nil {
			return fmt.Errorf("output %s: %w", s.out, err)
		}
		if err := os.Rename(s.tmp, s.out.Dest); err != nil {
			return fmt.Errorf("output %s: %w", s.out, err)
		}
	case KindOCIDir:
		if s.out.Name == "" {
			if err := ocilayout.Unname(s.tmp); err != nil {
				return fmt.Errorf("output %s: %w", s.out, err)
			}
		}
		// Checked again here: the destination may have changed during the build.
		if err := replaceableLayout(s.out); err != nil {
			return err
		}
		if err := ocilayout.KeepOtherImages(s.out.Dest, s.tmp); err != nil {
			return fmt.Errorf("output %s: %w", s.out, err)
		}
		var old string
		if _, err := os.Lstat(s.out.Dest); err == nil {
			old = filepath.Join(filepath.Dir(s.out.Dest), "."+filepath.Base(s.out.Dest)+".old-"+filepath.Base(s.tmp))
			if err := os.Rename(s.out.Dest, old); err != nil {
				return fmt.Errorf("output %s: moving the old %s aside: %w", s.out, s.out.Dest, err)
			}
		}
		if err := os.Rename(s.tmp, s.out.Dest); err != nil {
			if old != "" {
				err = errors.Join(err, os.Rename(old, s.out.Dest))
			}
			return fmt.Errorf("output %s: %w", s.out, err)
		}
		if old != "" {
			if err := os.RemoveAll(old); err != nil {
				return fmt.Errorf("output %s: removing the old layout %s: %w", s.out, old, err)
			}
		}
	}
	return nil
}

// readBack is the output the result's manifests are read back from: the
// output itself, or for standard output the tee of what was written.
func (s *staged) readBack() Output {
	if s.out.ToStdout() {
		return OCITar(s.tmp)
	}
	return s.out
}

// release removes what a committed output still keeps: the tee of a tar
// streamed to standard output.
func (s *staged) release() {
	if s.out.ToStdout() {
		_ = os.Remove(s.tmp)
	}
}

// abort removes whatever a failed build left in the temporary destination.
func (s *staged) abort() {
	for _, f := range s.files {
		_ = f.Close()
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// resultMeta adds the per-target metadata that makes BuildKit's image
// exporters write one index: the image config under
// containerimage.config/<id> and the platform list under refs.platforms.
type resultMeta struct {
	platforms exptypes.Platforms
	configs   map[string][]byte
}

func (m *resultMeta) add(id string, p ocispec.Platform, img ocispec.Image) error {
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
	m.platforms.Platforms = append(m.platforms.Platforms, exptypes.Platform{ID: id, Platform: p})
	return nil
}

func (m *resultMeta) entries() (map[string][]byte, error) {
	out := map[string][]byte{}
	for id, dt := range m.configs {
		out[exptypes.ExporterImageConfigKey+"/"+id] = dt
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
		dt, derr := decodeBase64(s)
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
