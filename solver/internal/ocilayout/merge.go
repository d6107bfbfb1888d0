package ocilayout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Name is the name an index.json entry gives its image: containerd's
// full name, else the OCI ref name; "" for an unnamed one.
func Name(d ocispec.Descriptor) string {
	if n := d.Annotations["io.containerd.image.name"]; n != "" {
		return n
	}
	return d.Annotations[ocispec.AnnotationRefName]
}

// KeepOtherImages carries into the new layout at dir the images of the
// existing layout at old that the new one does not replace: an OCI layout
// holds several images, and a build into it must not drop them. The new
// image replaces the old entry of the same name (an unnamed image replaces
// the unnamed one, as a tag moves). Kept entries' blobs are linked (or
// copied) into dir, and dir's index.json lists them after the new image.
func KeepOtherImages(old, dir string) error {
	oldIdx, err := ReadIndex(old)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // not a layout (an empty directory): nothing to keep
	}
	if err != nil {
		return err
	}
	newIdx, err := ReadIndex(dir)
	if err != nil {
		return err
	}
	replaced := map[string]bool{}
	for _, d := range newIdx.Manifests {
		replaced[Name(d)] = true
	}
	var kept []ocispec.Descriptor
	for _, d := range oldIdx.Manifests {
		if !replaced[Name(d)] {
			kept = append(kept, d)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	for _, d := range kept {
		if err := CarryBlobs(old, dir, d); err != nil {
			return fmt.Errorf("keeping the image %q (%s) of %s: %w", Name(d), d.Digest, old, err)
		}
	}
	newIdx.Manifests = append(newIdx.Manifests, kept...)
	dt, err := json.Marshal(newIdx)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ocispec.ImageIndexFile), dt, 0o644)
}

// ReadIndex reads the index.json of the layout at dir.
func ReadIndex(dir string) (ocispec.Index, error) {
	var idx ocispec.Index
	dt, err := os.ReadFile(filepath.Join(dir, ocispec.ImageIndexFile))
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(dt, &idx); err != nil {
		return idx, fmt.Errorf("%s: %w", filepath.Join(dir, ocispec.ImageIndexFile), err)
	}
	return idx, nil
}

// CarryBlobs links d's blob and every blob it reaches (an index's
// manifests, a manifest's config and layers) from layout src into dst.
func CarryBlobs(src, dst string, d ocispec.Descriptor) error {
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor) error
	walk = func(d ocispec.Descriptor) error {
		if seen[d.Digest] {
			return nil
		}
		seen[d.Digest] = true
		if err := d.Digest.Validate(); err != nil {
			return err
		}
		from, to := BlobPath(src, d.Digest), BlobPath(dst, d.Digest)
		if _, err := os.Stat(to); err != nil {
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				return err
			}
			if err := os.Link(from, to); err != nil {
				if err := copyFile(from, to); err != nil {
					return err
				}
			}
		}
		switch d.MediaType {
		case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json",
			ocispec.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json":
		default:
			return nil
		}
		dt, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		var m struct {
			Manifests []ocispec.Descriptor `json:"manifests"`
			Config    *ocispec.Descriptor  `json:"config"`
			Layers    []ocispec.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(dt, &m); err != nil {
			return fmt.Errorf("blob %s: %w", d.Digest, err)
		}
		children := append(m.Manifests, m.Layers...)
		if m.Config != nil {
			children = append(children, *m.Config)
		}
		for _, c := range children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(d)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(to), ".blob-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return err
	}
	return os.Rename(out.Name(), to)
}

// Unname drops the "latest" that BuildKit's oci exporter writes as
// org.opencontainers.image.ref.name into a directory layout exported
// without a name (a tar gets none): both outputs follow one rule, a layout
// is named only by its output's name=.
func Unname(dir string) error {
	p := filepath.Join(dir, ocispec.ImageIndexFile)
	dt, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	changed := false
	for i, m := range idx.Manifests {
		if m.Annotations[ocispec.AnnotationRefName] == "latest" && m.Annotations["io.containerd.image.name"] == "" {
			delete(idx.Manifests[i].Annotations, ocispec.AnnotationRefName)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if dt, err = json.Marshal(idx); err != nil {
		return err
	}
	return os.WriteFile(p, dt, 0o644)
}
