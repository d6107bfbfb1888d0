package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// containerd is a containerd of the test's own: root, state and socket
// under a temporary directory, stopped when the test ends.
type containerd struct {
	sock string
}

func startContainerd(t *testing.T, ctx context.Context) *containerd {
	t.Helper()
	bin, err := exec.LookPath("containerd")
	if err != nil {
		t.Fatalf("containerd is not installed: %v (hack/setup installs Debian's containerd)", err)
	}
	dir, err := os.MkdirTemp("", "ctrd")
	if err != nil {
		t.Fatal(err)
	}
	c := &containerd{sock: filepath.Join(dir, "containerd.sock")}
	cfg := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting containerd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.ctr(ctx, "version"); err == nil {
			return c
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("containerd did not answer on %s within 30s; its log:\n%s", c.sock, lastLines(string(log), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ctr runs containerd's own client against c, in namespace crossllb.
func (c *containerd) ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", c.sock, "--namespace", "crossllb"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// TestOCITarRealConsumers: an OCI tar written with name= is what
// third-party clients expect. containerd (its own daemon, started here)
// imports it under its name and runs the arm64 and arm/v7 images, under
// QEMU, printing their architecture; skopeo reads it as
// oci-archive:PATH:TAG and copies it, every platform, to the registry
// keeping the index digest.
func TestOCITarRealConsumers(t *testing.T) {
	ctx := testContext(t, 20*time.Minute)
	reg := registryAddr(t)
	ref := fmt.Sprintf("%s/crossllb-test/consumers:v%d", reg, time.Now().UnixNano())
	tag := ref[strings.LastIndex(ref, ":")+1:]
	dir := t.TempDir()
	tarPath, metaPath := filepath.Join(dir, "hello.tar"), filepath.Join(dir, "meta.json")
	mustGobuild(t, ctx, "--platform", helloPlatforms(), "--builder-image", reg+"/library/golang:1.26-bookworm",
		"--output", "type=oci,dest="+tarPath+",name="+ref, "--metadata-file", metaPath)
	meta := readMetadata(t, metaPath)

	// The layout names the image as BuildKit's exporter and containerd do.
	out, err := exec.CommandContext(ctx, "tar", "-xOf", tarPath, "index.json").Output()
	if err != nil {
		t.Fatalf("reading index.json from the tar: %v", err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(out, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Annotations["io.containerd.image.name"] != ref || idx.Manifests[0].Annotations[ocispec.AnnotationRefName] != tag {
		t.Errorf("index.json %s does not name the image %s (tag %s)", out, ref, tag)
	}

	t.Run("containerd", func(t *testing.T) {
		c := startContainerd(t, ctx)
		if _, err := c.ctr(ctx, "images", "import", "--all-platforms", tarPath); err != nil {
			t.Fatal(err)
		}
		list, err := c.ctr(ctx, "images", "ls", "-q")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(list, ref) {
			t.Fatalf("after ctr images import, containerd has %q, not %s", list, ref)
		}
		for _, h := range helloTargets[1:] { // arm64, arm/v7: under QEMU
			id := "crossllb-" + strings.ReplaceAll(h.platform, "/", "-")
			got, err := c.ctr(ctx, "run", "--rm", "--platform", h.platform, ref, id, "/"+helloBinary)
			if err != nil {
				t.Errorf("ctr run --platform %s: %v", h.platform, err)
				continue
			}
			if strings.TrimSpace(got) != h.output {
				t.Errorf("ctr run --platform %s printed %q, want %q", h.platform, got, h.output)
			}
		}
	})

	t.Run("skopeo", func(t *testing.T) {
		raw, err := exec.CommandContext(ctx, "skopeo", "inspect", "--raw", "oci-archive:"+tarPath+":"+tag).Output()
		if err != nil {
			t.Fatalf("skopeo inspect --raw oci-archive:%s:%s: %v", tarPath, tag, stderrOf(err))
		}
		var got ocispec.Index
		if err := json.Unmarshal(raw, &got); err != nil || len(got.Manifests) != len(helloTargets) {
			t.Errorf("skopeo read %s, want the index of %d manifests", raw, len(helloTargets))
		}
		info, err := exec.CommandContext(ctx, "skopeo", "inspect", "--override-arch", "arm64", "oci-archive:"+tarPath+":"+tag).Output()
		if err != nil {
			t.Fatalf("skopeo inspect --override-arch arm64: %v", stderrOf(err))
		}
		if !strings.Contains(string(info), `"Architecture": "arm64"`) {
			t.Errorf("skopeo inspect --override-arch arm64: %s", info)
		}
		copied := strings.Replace(ref, "/consumers:", "/consumers-skopeo:", 1)
		if out, err := exec.CommandContext(ctx, "skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
			"oci-archive:"+tarPath+":"+tag, "docker://"+copied).CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy --all: %v\n%s", err, out)
		}
		r, err := name.ParseReference(copied, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(r, remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest.String() != meta.ImageDigest.String() {
			t.Errorf("skopeo copied the index as %s, the build's index is %s", desc.Digest, meta.ImageDigest)
		}
	})
}

// stderrOf is an exec error with the command's standard error.
func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return fmt.Sprintf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err.Error()
}

// TestContainerdPullsWithoutAttestationsInIndex: containerd 1.6 (Debian's
// ctr) fails `ctr images pull --all-platforms` on an index that holds
// provenance attestation manifests (it unpacks the unknown/unknown entry:
// "mismatched image rootfs and manifest layers"); with
// --attestations-in-index=false the same build pulls and unpacks for every
// platform. The README documents this next to the flag.
func TestContainerdPullsWithoutAttestationsInIndex(t *testing.T) {
	ctx := testContext(t, 15*time.Minute)
	reg := registryAddr(t)
	stamp := time.Now().UnixNano()
	with := fmt.Sprintf("%s/crossllb-test/attest:with-%d", reg, stamp)
	without := fmt.Sprintf("%s/crossllb-test/attest:without-%d", reg, stamp)
	build := func(ref string, extra ...string) {
		t.Helper()
		mustGobuild(t, ctx, append([]string{"--platform", "linux/amd64,linux/arm64", "--builder-image", reg + "/library/golang:1.26-bookworm",
			"--attest", "type=provenance,mode=max",
			"--output", "type=image,name=" + ref + ",push=true,registry.insecure=true"}, extra...)...)
	}
	build(with)
	build(without, "--attestations-in-index=false")
	c := startContainerd(t, ctx)
	if _, err := c.ctr(ctx, "images", "pull", "--plain-http", "--all-platforms", with); err != nil {
		t.Logf("as documented, containerd cannot pull the index with attestations: %v", err)
	} else {
		t.Logf("this containerd pulls an index with attestations: the README's note on --attestations-in-index=false may be dropped")
	}
	if _, err := c.ctr(ctx, "images", "pull", "--plain-http", "--all-platforms", without); err != nil {
		t.Fatalf("with --attestations-in-index=false: %v", err)
	}
	list, err := c.ctr(ctx, "images", "ls", "-q")
	if err != nil || !strings.Contains(list, without) {
		t.Errorf("containerd's images %q (%v) lack %s", list, err, without)
	}
}

// TestOCIDirKeepsOtherImages: tar=false into a layout that holds another
// image adds the new image (it replaced the whole layout, losing the
// other); the same name again replaces only that image. skopeo reads both
// by tag, and go-containerregistry validates every image the layout lists.
func TestOCIDirKeepsOtherImages(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	reg := registryAddr(t)
	dir := filepath.Join(t.TempDir(), "layout")
	build := func(name, platform string) {
		t.Helper()
		mustGobuild(t, ctx, "--platform", platform, "--builder-image", reg+"/library/golang:1.26-bookworm",
			"--output", "type=oci,tar=false,dest="+dir+",name="+name)
	}
	build("127.0.0.1:5000/crossllb-test/layout:v1", "linux/amd64")
	build("127.0.0.1:5000/crossllb-test/layout:v2", "linux/arm64")
	build("127.0.0.1:5000/crossllb-test/layout:v2", "linux/arm64,linux/arm/v7") // replaces v2 only
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]int{}
	for _, d := range im.Manifests {
		tags[d.Annotations[ocispec.AnnotationRefName]]++
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			t.Fatalf("image %s: %v", d.Digest, err)
		}
		if err := validate.Index(child); err != nil {
			t.Errorf("image %q: %v", d.Annotations[ocispec.AnnotationRefName], err)
		}
	}
	if len(im.Manifests) != 2 || tags["v1"] != 1 || tags["v2"] != 1 {
		t.Fatalf("index.json lists %v, want v1 and v2 once each", tags)
	}
	for tag, n := range map[string]int{"v1": 1, "v2": 2} {
		raw, err := exec.CommandContext(ctx, "skopeo", "inspect", "--raw", "oci:"+dir+":"+tag).Output()
		if err != nil {
			t.Fatalf("skopeo inspect oci:%s:%s: %v", dir, tag, stderrOf(err))
		}
		var got ocispec.Index
		if err := json.Unmarshal(raw, &got); err != nil || len(got.Manifests) != n {
			t.Errorf("skopeo read %s for %s, want %d manifests", raw, tag, n)
		}
	}
	// No blob of the replaced v2 is left behind.
	blobs, err := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*"))
	if err != nil {
		t.Fatal(err)
	}
	reachable := 0
	for _, d := range im.Manifests {
		reachable += countBlobs(t, idx, d.Digest)
	}
	if len(blobs) > reachable {
		t.Errorf("the layout has %d blobs, its images reach %d: the replaced image's were kept", len(blobs), reachable)
	}
}

// countBlobs counts the distinct blobs an image index of p reaches,
// itself included (an upper bound when images share layers).
func countBlobs(t *testing.T, p v1.ImageIndex, d v1.Hash) int {
	t.Helper()
	child, err := p.ImageIndex(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := child.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	n := 1
	for _, m := range im.Manifests {
		img, err := child.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		n += 2 + len(ls) // manifest, config, layers
	}
	return n
}
