package ocilayout_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// A node's layout stream is checked blob by blob: content that does not
// match its name fails, and nothing of it is kept; names outside blobs/
// are not written anywhere.
func TestExtractBlobs(t *testing.T) {
	good := []byte("good blob")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, dt []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(dt)), Typeflag: tar.TypeReg})
		tw.Write(dt)
	}
	add("blobs/sha256/"+digest.FromBytes(good).Encoded(), good)
	add("../../escape", []byte("x"))
	add("index.json", []byte("{}"))
	tw.Close()
	dir := t.TempDir()
	if err := ocilayout.ExtractBlobs(bytes.NewReader(buf.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	if dt, err := os.ReadFile(ocilayout.BlobPath(dir, digest.FromBytes(good))); err != nil || !bytes.Equal(dt, good) {
		t.Errorf("good blob: %q, %v", dt, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		t.Error("index.json of a part was written")
	}

	buf.Reset()
	tw = tar.NewWriter(&buf)
	add("blobs/sha256/"+digest.FromBytes([]byte("other")).Encoded(), []byte("evil!"))
	tw.Close()
	dir = t.TempDir()
	err := ocilayout.ExtractBlobs(bytes.NewReader(buf.Bytes()), dir)
	if err == nil || !strings.Contains(err.Error(), "bytes") && !strings.Contains(err.Error(), "digest") {
		t.Errorf("a blob that does not match its name: %v", err)
	}
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("kept %v", files)
	}
}

// WriteBlob refuses content whose size or digest is not the descriptor's,
// leaves nothing behind, and keeps a blob that is there already.
func TestWriteBlob(t *testing.T) {
	dir := t.TempDir()
	dt := []byte("content")
	d := ocispec.Descriptor{Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	for _, tc := range []struct {
		name string
		desc ocispec.Descriptor
		in   []byte
		want string
	}{
		{"short", ocispec.Descriptor{Digest: d.Digest, Size: d.Size + 1}, dt, "the descriptor says 8"},
		{"other content", d, []byte("CONTENT"), "does not match its digest"},
	} {
		err := ocilayout.WriteBlob(dir, tc.desc, bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: WriteBlob = %v, want %q", tc.name, err, tc.want)
		}
		if _, err := os.Stat(ocilayout.BlobPath(dir, d.Digest)); err == nil {
			t.Errorf("%s: the blob was written", tc.name)
		}
	}
	if err := ocilayout.WriteBlob(dir, d, bytes.NewReader(dt)); err != nil {
		t.Fatal(err)
	}
	// Already there: not read again.
	if err := ocilayout.WriteBlob(dir, d, iotest.ErrReader(errors.New("read again"))); err != nil {
		t.Errorf("WriteBlob of a blob already there: %v", err)
	}
	got, err := ocilayout.FetchVerified(context.Background(), ocilayout.DirFetcher(dir), d.Digest)
	if err != nil || !bytes.Equal(got, dt) {
		t.Errorf("FetchVerified = %q, %v", got, err)
	}
	// A fetcher that returns other content is caught.
	liar := func(context.Context, digest.Digest) ([]byte, error) { return []byte("lie"), nil }
	if _, err := ocilayout.FetchVerified(context.Background(), liar, d.Digest); err == nil || !strings.Contains(err.Error(), "want "+d.Digest.String()) {
		t.Errorf("FetchVerified of other content = %v", err)
	}
}

// TarFetcher reads a layout tar's small blobs and names the tar for one
// it lacks.
func TestTarFetcher(t *testing.T) {
	small, big := []byte("small"), make([]byte, 2048)
	path := filepath.Join(t.TempDir(), "layout.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dt := range [][]byte{small, big} {
		tw.WriteHeader(&tar.Header{Name: "blobs/sha256/" + digest.FromBytes(dt).Encoded(), Mode: 0o444, Size: int64(len(dt)), Typeflag: tar.TypeReg})
		tw.Write(dt)
	}
	tw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fetch, err := ocilayout.TarFetcher(path, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if dt, err := fetch(context.Background(), digest.FromBytes(small)); err != nil || !bytes.Equal(dt, small) {
		t.Errorf("small blob: %q, %v", dt, err)
	}
	if _, err := fetch(context.Background(), digest.FromBytes(big)); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a blob over the limit: %v, want an error naming %s", err, path)
	}
}
