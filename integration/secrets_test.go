package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	controlapi "github.com/moby/buildkit/api/services/control"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// A step reads two secrets (a file and an environment variable) and proves
// it did by writing their hashes and lengths into the image; the secrets'
// bytes appear in no blob of the exported OCI tar (layers decompressed,
// configs with their history, manifests and their annotations, the index),
// in no progress output (plain and rawjson), in the metadata file, and in
// the daemon's build history records.
// Not parallel: it sets an environment variable for SecretEnv.
func TestSecretsMountedNeverBaked(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	fileSecret := randomSecret(t, "file")
	envSecret := randomSecret(t, "env")
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, fileSecret, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CROSSLLB_TEST_SECRET", string(envSecret))
	nonce := time.Now().Format(time.RFC3339Nano) // a fresh run: secrets are not part of the cache key

	targets, err := platforms.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	// The secret-reading step runs in the target's own root filesystem
	// (under QEMU for arm64), whose result is the image: a secret written
	// to the mount point would be in the layer.
	script := `set -e
sha256sum < /run/secrets/token | cut -d' ' -f1 > /proof-file-sha
wc -c < /run/secrets/token > /proof-file-len
printf %s "$TOKEN" | sha256sum | cut -d' ' -f1 > /proof-env-sha
printf %s "$TOKEN" | wc -c > /proof-env-len
echo "read both secrets ($0)"`
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		st := bk.Image("debian:bookworm-slim", bk.Platform(t.Platform)).
			Run(bk.Args([]string{"sh", "-c", script, nonce}),
				bk.AddSecret("/run/secrets/token", bk.SecretID("file-token")),
				bk.AddSecret("TOKEN", bk.SecretID("env-token"), bk.SecretAsEnv(true)),
				bk.Platform(t.Platform)).Root()
		img := ocispec.Image{Platform: t.Platform}
		img.Config.Labels = map[string]string{"proof": "secrets"}
		return st, img, nil
	}
	dir := t.TempDir()
	secrets := solver.WithSecrets(solver.SecretFile("file-token", secretFile), solver.SecretEnv("env-token", "CROSSLLB_TEST_SECRET"))
	var plain, rawjson bytes.Buffer
	tarPath, meta := filepath.Join(dir, "image.tar"), filepath.Join(dir, "metadata.json")
	res, err := c.Build(ctx, targets, fn, secrets,
		solver.WithProgress("plain", &plain), solver.WithOutput(solver.OCITar(tarPath)), solver.WithMetadataFile(meta),
		solver.WithAnnotations(map[string]string{"org.opencontainers.image.title": "secrets"}, nil))
	if err != nil {
		t.Fatalf("build: %v\n%s", err, lastLines(plain.String(), 30))
	}
	// The same build again with rawjson progress; no cache, so that the
	// step runs and prints again.
	if _, err := c.Build(ctx, targets, fn, secrets, solver.WithNoCache(), solver.WithProgress("rawjson", &rawjson)); err != nil {
		t.Fatalf("build with rawjson progress: %v", err)
	}
	if !strings.Contains(plain.String(), "read both secrets") || !strings.Contains(rawjson.String(), "read both secrets") {
		t.Errorf("the step's output is not in the progress: plain %d bytes, rawjson %d bytes", plain.Len(), rawjson.Len())
	}

	// The step read them.
	layout := filepath.Join(dir, "layout")
	untar(t, tarPath, layout)
	idx := onlyIndex(t, layout)
	for _, m := range res.Manifests {
		h, err := v1.NewHash(m.Manifest.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		img, err := idx.Image(h)
		if err != nil {
			t.Fatal(err)
		}
		id := platforms.Format(m.Platform)
		for name, want := range map[string]string{
			"proof-file-sha": sha256hex(fileSecret), "proof-file-len": fmt.Sprint(len(fileSecret)),
			"proof-env-sha": sha256hex(envSecret), "proof-env-len": fmt.Sprint(len(envSecret)),
		} {
			if got := strings.TrimSpace(string(fileFromImageRaw(t, img, name))); got != want {
				t.Errorf("%s: /%s = %q, want %q", id, name, got, want)
			}
		}
	}

	// Nowhere else.
	history := historyRecords(t, ctx, c)
	if len(history) == 0 {
		t.Error("the daemon returned no build history records to check")
	}
	for _, secret := range [][]byte{fileSecret, envSecret} {
		// The proof (the secret's hash) is in a layer: the scan sees
		// into layers.
		scanned := secretInOCITar(t, tarPath, secret, []byte(sha256hex(secret)))
		t.Logf("%d blobs scanned (%d layers decompressed)", scanned.blobs, scanned.layers)
		for name, dt := range map[string][]byte{"plain progress": plain.Bytes(), "rawjson progress": rawjson.Bytes(), "build history records": history} {
			if bytes.Contains(dt, secret) {
				t.Errorf("the %s carries a secret", name)
			}
		}
		if dt, err := os.ReadFile(meta); err != nil || bytes.Contains(dt, secret) {
			t.Errorf("the metadata file carries a secret (or cannot be read: %v)", err)
		}
	}
}

func randomSecret(t *testing.T, what string) []byte {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return []byte("crossllb-" + what + "-secret-" + hex.EncodeToString(b))
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type scanCounts struct{ blobs, layers int }

// secretInOCITar fails the test when needle is in any entry of the OCI
// layout tar at path, raw or, for gzip layers, decompressed, or when
// control is in no decompressed layer. A blob in a compression it cannot
// read fails the test too: unscanned is not clean.
func secretInOCITar(t *testing.T, path string, needle, control []byte) scanCounts {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n scanCounts
	controlSeen := false
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if !controlSeen {
				t.Errorf("%s: %q is in no layer: the scan does not see what the build wrote", path, control)
			}
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		dt, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		n.blobs++
		if bytes.Contains(dt, needle) {
			t.Errorf("%s: %s carries the secret", path, h.Name)
		}
		switch {
		case bytes.HasPrefix(dt, []byte{0x1f, 0x8b}):
			zr, err := gzip.NewReader(bytes.NewReader(dt))
			if err != nil {
				t.Fatalf("%s: %s: %v", path, h.Name, err)
			}
			raw, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, h.Name, err)
			}
			n.layers++
			controlSeen = controlSeen || bytes.Contains(raw, control)
			if bytes.Contains(raw, needle) {
				t.Errorf("%s: layer %s carries the secret", path, h.Name)
			}
		case bytes.HasPrefix(dt, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			t.Errorf("%s: %s is zstd, which this scan cannot read", path, h.Name)
		}
	}
}

// historyRecords returns the daemon's build history records as text.
func historyRecords(t *testing.T, ctx context.Context, c *solver.Client) []byte {
	t.Helper()
	cl, err := c.BuildKit().ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for {
		ev, err := cl.Recv()
		if errors.Is(err, io.EOF) {
			return b.Bytes()
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Record != nil {
			fmt.Fprintln(&b, ev.Record.String())
		}
	}
}
