package integration

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// uniqueImage is a two-layer-free image whose one file is new to the
// registry, so that every blob must be uploaded.
func uniqueImage(content string) solver.TargetFunc {
	return func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Scratch().File(bk.Mkfile("/id", 0o644, []byte(content+" "+platforms.Format(t.Platform)))), ocispec.Image{}, nil
	}
}

// The first two blob uploads and the first two manifest PUTs fail (a 500,
// then a connection reset): BuildKit's pusher retries each with a backoff
// (1s, 2s, 4s: four attempts) and the push succeeds with a valid index.
func TestPushRetriesTransientRegistryFaults(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	p := startRegistryProxy(t, registryAddr(t), func(p *registryProxy) {
		p.fault = func(r *http.Request, n int) fault {
			if faultClass(r) == "" || n > 2 {
				return faultNone
			}
			return [...]fault{fault500, faultReset}[n-1]
		}
	})
	ref := p.addr + "/crossllb-test/transient-" + randomHex(t, 4) + ":v1"
	targets, err := platforms.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := c.Build(ctx, targets, uniqueImage(ref), solver.WithOutput(solver.Registry(ref, solver.Insecure())))
	t.Logf("after %v; proxy saw %s", time.Since(start).Round(time.Millisecond), p.summary())
	if err != nil {
		t.Fatalf("a push with transient faults failed: %v", err)
	}
	injected := 0
	for _, r := range p.requests() {
		if r.Fault != faultNone {
			injected++
		}
	}
	if injected != 4 {
		t.Errorf("%d faults injected, want 4 (2 blob uploads, 2 manifest PUTs)", injected)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("the pushed tag: %v", err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("the pushed index: %v", err)
	}
	if d, _ := idx.Digest(); d.String() != res.Index.Digest.String() {
		t.Errorf("the tag points at %s, the build pushed %s", d, res.Index.Digest)
	}
}

// Every upload and manifest PUT fails, or only the index's: the build fails
// after bounded retries with an error naming the host; the tag does not
// exist (no tag points at a partial index), or, pushed over an existing
// tag, still names the old index; the OCI tar asked for in the same build
// is absent, not truncated, and nothing is left beside it.
func TestPushPersistentRegistryFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault func(r *http.Request, n int) fault
	}{
		{"every upload and manifest", func(r *http.Request, n int) fault {
			if faultClass(r) == "" {
				return faultNone
			}
			return [...]fault{fault500, faultReset}[n%2]
		}},
		{"the index only", func(r *http.Request, n int) fault {
			if faultClass(r) == "manifest-put" && r.Header.Get("Content-Type") == ocispec.MediaTypeImageIndex {
				return fault500
			}
			return faultNone
		}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 5*time.Minute)
			c := connect(t, ctx)
			p := startRegistryProxy(t, registryAddr(t), func(p *registryProxy) { p.fault = tc.fault })
			ref := p.addr + "/crossllb-test/persistent-" + randomHex(t, 4) + ":v1"
			targets, err := platforms.ParseList("linux/amd64,linux/arm64")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			start := time.Now()
			_, err = c.Build(ctx, targets, uniqueImage(ref),
				solver.WithOutput(solver.Registry(ref, solver.Insecure()), solver.OCITar(filepath.Join(dir, "image.tar"))))
			took := time.Since(start)
			t.Logf("failed after %v; proxy saw %s", took.Round(time.Millisecond), p.summary())
			if err == nil {
				t.Fatal("a push to a registry that always fails succeeded")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), p.addr) {
				t.Errorf("the error does not name %s: %v", p.addr, err)
			}
			if took > 2*time.Minute {
				t.Errorf("took %v to give up: retries are not bounded", took)
			}
			noLeftovers(t, dir)
			if _, err := os.Stat(filepath.Join(dir, "image.tar")); !os.IsNotExist(err) {
				t.Errorf("the OCI tar: %v, want it absent", err)
			}
			// The tag does not exist, in the registry behind the proxy.
			r, err := name.ParseReference(strings.Replace(ref, p.addr, registryAddr(t), 1), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.Get(r, remote.WithContext(ctx))
			var terr *transport.Error
			if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
				t.Errorf("the tag %s after a failed push: %v, want 404 (not pushed)", r, err)
			}

			// A tag that already names an index keeps naming it.
			direct := strings.Replace(ref, p.addr, registryAddr(t), 1) + "-old"
			old, err := c.Build(ctx, targets, uniqueImage(direct), solver.WithOutput(solver.Registry(direct, solver.Insecure())))
			if err != nil {
				t.Fatalf("pushing the old index: %v", err)
			}
			_, err = c.Build(ctx, targets, uniqueImage(direct+" new"),
				solver.WithOutput(solver.Registry(strings.Replace(direct, registryAddr(t), p.addr, 1), solver.Insecure())))
			if err == nil {
				t.Fatal("the second push through the failing proxy succeeded")
			}
			r, err = name.ParseReference(direct, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(r, remote.WithContext(ctx))
			if err != nil || desc.Digest.String() != old.Index.Digest.String() {
				t.Errorf("the tag %s after a failed push over it: %v %v, want the old index %s", r, desc, err, old.Index.Digest)
			}
		})
	}
}
