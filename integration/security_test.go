package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// Symlinks in the context that point outside it are sent as links: the
// bytes they point at appear in no layer.
func TestContextSymlinksStayLinks(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	secret := []byte("crossllb-outside-secret-" + time.Now().Format(time.RFC3339Nano))
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "inside"), []byte("fine"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{"abs": outside, "rel": "../../" + filepath.Base(filepath.Dir(outside)) + "/secret", "passwd": "/etc/passwd"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		local := bk.Local("context", bk.LocalUniqueID("crossllb-symlinks"))
		return bk.Scratch().File(bk.Copy(local, "/", "/ctx", &bk.CopyInfo{CopyDirContentsOnly: true, CreateDestPath: true})), ocispec.Image{}, nil
	}
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	if _, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, fn,
		solver.WithLocal("context", src), solver.WithOutput(solver.OCIDir(layoutDir))); err != nil {
		t.Fatal(err)
	}
	idx := onlyIndex(t, layoutDir)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, secret) || bytes.Contains(body, []byte("root:x:0:0")) {
			t.Errorf("%s carries the bytes of a file outside the context", h.Name)
		}
		if h.Typeflag == tar.TypeSymlink {
			seen[filepath.Base(h.Name)] = h.Linkname
		} else if _, isLink := links[filepath.Base(h.Name)]; isLink {
			t.Errorf("%s is in the image as a %c entry, not a link", h.Name, h.Typeflag)
		}
	}
	for name, target := range links {
		if name == "rel" && seen[name] == "" {
			// Seen here: a relative link that climbs out of the context
			// does not arrive at all (fsutil/BuildKit drop it). Neither
			// the link nor its target's bytes is the safe outcome.
			continue
		}
		if seen[name] != target {
			t.Errorf("%s: in the image as a link to %q, want a link to %q (links seen: %v)", name, seen[name], target, seen)
		}
	}
}
