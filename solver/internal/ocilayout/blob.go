package ocilayout

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Fetcher returns a small blob (index, manifest) by digest.
type Fetcher func(ctx context.Context, d digest.Digest) ([]byte, error)

// BlobPath is where the layout at dir keeps the blob d.
func BlobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, ocispec.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

// WriteBlob stores r as the blob d of the layout at dir, checking its size
// and digest, through a temporary file; a blob already there is kept.
func WriteBlob(dir string, d ocispec.Descriptor, r io.Reader) error {
	dst := BlobPath(dir, d.Digest)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	v := d.Digest.Verifier()
	n, err := io.Copy(io.MultiWriter(tmp, v), r)
	err = errors.Join(err, tmp.Close())
	switch {
	case err != nil:
		return err
	case n != d.Size:
		return fmt.Errorf("%d bytes, the descriptor says %d", n, d.Size)
	case !v.Verified():
		return errors.New("content does not match its digest")
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// ExtractBlobs stores the blobs of an OCI layout tar in the layout at dir,
// each checked against its digest; the tar's index.json and oci-layout
// are not needed (an index worth keeping is a blob too).
func ExtractBlobs(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		parts := strings.Split(path.Clean(h.Name), "/")
		if len(parts) != 3 || parts[0] != ocispec.ImageBlobsDir {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.Algorithm(parts[1]), parts[2])
		if err := d.Validate(); err != nil {
			return fmt.Errorf("%s: not a blob: %w", h.Name, err)
		}
		if err := WriteBlob(dir, ocispec.Descriptor{Digest: d, Size: h.Size}, tr); err != nil {
			return fmt.Errorf("blob %s: %w", d, err)
		}
	}
}

// FetchVerified fetches d and checks the content against it.
func FetchVerified(ctx context.Context, fetch Fetcher, d digest.Digest) ([]byte, error) {
	dt, err := fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	if got := d.Algorithm().FromBytes(dt); got != d {
		return nil, fmt.Errorf("content is %s, want %s", got, d)
	}
	return dt, nil
}

// DirFetcher reads blobs from the layout directory dir.
func DirFetcher(dir string) Fetcher {
	return func(_ context.Context, d digest.Digest) ([]byte, error) {
		return os.ReadFile(BlobPath(dir, d))
	}
}

// TarFetcher reads the blobs of at most max bytes of the OCI layout tar at
// path, once, and returns them by digest.
func TarFetcher(path string, max int64) (Fetcher, error) {
	blobs, err := SmallTarBlobs(path, max)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, d digest.Digest) ([]byte, error) {
		dt, ok := blobs[d]
		if !ok {
			return nil, fmt.Errorf("blob %s not in %s", d, path)
		}
		return dt, nil
	}, nil
}

// SmallTarBlobs reads the blobs of at most max bytes from an OCI layout tar.
func SmallTarBlobs(path string, max int64) (map[digest.Digest][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[digest.Digest][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		dir, enc := filepath.Split(filepath.Clean(h.Name))
		alg := filepath.Base(filepath.Clean(dir))
		if h.Typeflag != tar.TypeReg || h.Size > max || filepath.Dir(filepath.Clean(dir)) != ocispec.ImageBlobsDir {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.Algorithm(alg), enc)
		if d.Validate() != nil {
			continue
		}
		dt, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %s: %w", path, h.Name, err)
		}
		out[d] = dt
	}
}
