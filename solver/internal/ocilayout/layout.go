package ocilayout

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Finish makes the layout at dir, which holds the blobs of one or more
// builds, the layout of the index idxJSON (described by desc) whose
// manifests are manifests: it adds the index blob, oci-layout and an
// index.json dated created, checks that every blob the manifests reach is
// there with its size, and removes the rest (other builds' own indexes,
// blobs of an attempt that failed and was retried elsewhere).
func Finish(ctx context.Context, dir string, manifests []ocispec.Descriptor, idxJSON []byte, desc ocispec.Descriptor, created time.Time) error {
	if err := WriteBlob(dir, desc, bytes.NewReader(idxJSON)); err != nil {
		return fmt.Errorf("index %s: %w", desc.Digest, err)
	}
	keep := map[string]bool{BlobPath(dir, desc.Digest): true}
	for _, m := range manifests {
		mdt, err := FetchVerified(ctx, DirFetcher(dir), m.Digest)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", m.Digest, err)
		}
		var man ocispec.Manifest
		if err := json.Unmarshal(mdt, &man); err != nil {
			return fmt.Errorf("manifest %s: %w", m.Digest, err)
		}
		for _, d := range append([]ocispec.Descriptor{man.Config, m}, man.Layers...) {
			p := BlobPath(dir, d.Digest)
			st, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("blob %s of manifest %s: %w", d.Digest, m.Digest, err)
			}
			if st.Size() != d.Size {
				return fmt.Errorf("blob %s of manifest %s: %d bytes, the descriptor says %d", d.Digest, m.Digest, st.Size(), d.Size)
			}
			keep[p] = true
		}
	}
	err := filepath.WalkDir(filepath.Join(dir, ocispec.ImageBlobsDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || keep[p] {
			return err
		}
		return os.Remove(p)
	})
	if err != nil {
		return err
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ocispec.ImageLayoutFile), layoutJSON, 0o644); err != nil {
		return err
	}
	return WriteIndex(dir, desc, created, nil)
}

// WriteIndex writes the layout's index.json with one entry, desc, dated
// created (org.opencontainers.image.created) and carrying annotations
// (the image's names, say).
func WriteIndex(dir string, desc ocispec.Descriptor, created time.Time, annotations map[string]string) error {
	top := desc
	top.Annotations = map[string]string{ocispec.AnnotationCreated: created.UTC().Format(time.RFC3339)}
	maps.Copy(top.Annotations, annotations)
	indexJSON, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{top}})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ocispec.ImageIndexFile), indexJSON, 0o644)
}

// Move puts the layout at src where dst, an empty directory, is.
func Move(src, dst string) error {
	if err := os.Remove(dst); err != nil {
		return err
	}
	return os.Rename(src, dst)
}

// WriteTar writes the layout at dir to w as an OCI layout tar:
// directories, then files, in lexical order, owned by root, dated 1970, so
// that the same layout gives the same bytes.
func WriteTar(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: int64(info.Mode().Perm()), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
			return tw.WriteHeader(h)
		case d.Type().IsRegular():
			h.Typeflag, h.Size = tar.TypeReg, info.Size()
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return fmt.Errorf("%s: not a file or directory", rel)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
