package solver

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
)

func TestNewTargets(t *testing.T) {
	ts, err := newTargets([]ocispec.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(targetIDs(ts), " "); got != "linux/amd64 linux/arm64 linux/arm/v7" {
		t.Errorf("ids = %s", got)
	}
	// Normalised once, here: the platform travels as the ID says.
	if p := ts[2].platform; p.Variant != "v7" || ts[1].platform.Variant != "" {
		t.Errorf("platforms = %v, want arm/v7 and arm64 without a variant", targetPlatforms(ts))
	}
	for _, tc := range []struct {
		targets []ocispec.Platform
		want    string
	}{
		{nil, "no target platforms"},
		{[]ocispec.Platform{{OS: "linux", Architecture: "foo"}}, `target 1`},
		{[]ocispec.Platform{{OS: "linux", Architecture: "arm"}, {OS: "linux", Architecture: "arm", Variant: "v7"}}, "targets 1 and 2 are both linux/arm/v7"},
		{[]ocispec.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}}, "targets 2 and 3 are both linux/arm64"},
	} {
		_, err := newTargets(tc.targets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newTargets(%v) = %v, want an error containing %q", tc.targets, err, tc.want)
		}
	}
}

func TestLocalFSRefusesBadContexts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(dir, "missing"), "no such file or directory"},
		{file, "is a file, not a directory"},
		{"/", "refusing / as a build context"},
		{home, "refusing the home directory"},
	} {
		_, err := localFS("context", tc.dir, &localOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `local "context"`) {
			t.Errorf("localFS(%q) = %v, want an error naming the local and containing %q", tc.dir, err, tc.want)
		}
	}
	if _, err := localFS("context", dir, &localOptions{}); err != nil {
		t.Errorf("a plain directory: %v", err)
	}
}

func TestBuildOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opt  BuildOption
		want string
	}{
		{WithProgress("fancy", io.Discard), `progress mode "fancy": unknown`},
		{WithProgress("plain", nil), "nil writer"},
		{WithOutput(OCITar("")), "missing dest"},
		{WithMetadataFile(""), "empty path"},
		{WithMetadataFile("/no/such/dir/meta.json"), "the directory /no/such/dir does not exist"},
		{WithAnnotations(map[string]string{"": "x"}, nil), "empty key"},
		{WithLocal("", "."), "empty name"},
	} {
		err := tc.opt(&buildOptions{locals: map[string]fsutil.FS{}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("option error = %v, want it to contain %q", err, tc.want)
		}
	}
	o := buildOptions{locals: map[string]fsutil.FS{}}
	dir := t.TempDir()
	if err := WithLocal("context", dir)(&o); err != nil {
		t.Fatal(err)
	}
	if err := WithLocal("context", dir)(&o); err == nil || !strings.Contains(err.Error(), `local "context" given twice`) {
		t.Errorf("second local with one name: %v", err)
	}
}

// A metadata file that an OCI output would overwrite or replace is
// refused before anything is built; beside it is fine.
func TestMetadataFileApartFromOutputs(t *testing.T) {
	dir := t.TempDir()
	tar, layout := filepath.Join(dir, "out.tar"), filepath.Join(dir, "layout")
	if err := os.Mkdir(layout, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts []BuildOption
		want string
	}{
		{[]BuildOption{WithOutput(OCITar(tar)), WithMetadataFile(tar)}, "metadata file " + tar + ": output type=oci,dest=" + tar + " writes there too"},
		{[]BuildOption{WithMetadataFile(filepath.Join(dir, ".", "out.tar")), WithOutput(OCITar(tar))}, "writes there too"},
		{[]BuildOption{WithOutput(OCIDir(layout)), WithMetadataFile(filepath.Join(layout, "meta.json"))}, "writes there too"},
	} {
		_, err := newBuildOptions(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newBuildOptions: %v, want it to contain %q", err, tc.want)
		}
	}
	if _, err := newBuildOptions([]BuildOption{WithOutput(OCITar(tar)), WithMetadataFile(filepath.Join(dir, "meta.json"))}); err != nil {
		t.Errorf("a metadata file beside the tar: %v", err)
	}
}

// Build checks everything it can before it talks to the daemon: a Client
// with no connection is enough to see the errors.
func TestBuildRejectsBadRequestsBeforeSolving(t *testing.T) {
	c := &Client{addr: "unix:///nonexistent"}
	fn := func(context.Context, Target) (bk.State, ocispec.Image, error) {
		return bk.State{}, ocispec.Image{}, errors.New("must not be called")
	}
	two := t.TempDir()
	for _, tc := range []struct {
		targets []ocispec.Platform
		opts    []BuildOption
		want    string
	}{
		{nil, nil, "no target platforms"},
		{[]ocispec.Platform{{OS: "linux", Architecture: "riscv32"}}, nil, "riscv32"},
		{[]ocispec.Platform{{OS: "linux", Architecture: "amd64"}}, []BuildOption{WithOutput(OCIDir(two+"/a"), OCIDir(two+"/b"))}, "at most one OCI directory"},
	} {
		_, err := c.Build(context.Background(), tc.targets, fn, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%v) = %v, want an error containing %q", tc.targets, err, tc.want)
		}
	}
}

func TestRunnable(t *testing.T) {
	workers := []Worker{{Platforms: []ocispec.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}}}
	ok := []EmulatedStep{{Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}, Name: "useradd"}}
	if err := runnable(ok, workers); err != nil {
		t.Errorf("arm64 step on a worker with arm64: %v", err)
	}
	bad := append(ok, EmulatedStep{Target: ocispec.Platform{OS: "linux", Architecture: "mips64le"}, Platform: ocispec.Platform{OS: "linux", Architecture: "mips64le"}, Name: "mkdir /data"})
	err := runnable(bad, workers)
	if err == nil || !strings.Contains(err.Error(), "cannot run linux/mips64le steps") || !strings.Contains(err.Error(), "it runs linux/amd64, linux/arm64") || !strings.Contains(err.Error(), "mkdir /data") {
		t.Errorf("mips64le step on a worker without it: %v", err)
	}
}

// TestWithAnnotationsMerges: a recipe's annotations, then the caller's:
// the later key wins, the others stay.
func TestWithAnnotationsMerges(t *testing.T) {
	var o buildOptions
	defaults := map[string]string{"org.opencontainers.image.title": "app", "org.opencontainers.image.created": "2026"}
	for _, opt := range []BuildOption{
		WithAnnotations(defaults, defaults),
		WithAnnotations(map[string]string{"org.opencontainers.image.title": "server"}, map[string]string{"x": "y"}),
	} {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	if o.indexAnnotations["org.opencontainers.image.title"] != "server" || o.indexAnnotations["org.opencontainers.image.created"] != "2026" {
		t.Errorf("index annotations %v", o.indexAnnotations)
	}
	if o.manifestAnnotations["x"] != "y" || o.manifestAnnotations["org.opencontainers.image.title"] != "app" {
		t.Errorf("manifest annotations %v", o.manifestAnnotations)
	}
	if defaults["org.opencontainers.image.title"] != "app" {
		t.Error("WithAnnotations changed the caller's map")
	}
}

// mustTargets is newTargets for platforms known to be good.
func mustTargets(t *testing.T, ps []ocispec.Platform) []target {
	t.Helper()
	ts, err := newTargets(ps)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
