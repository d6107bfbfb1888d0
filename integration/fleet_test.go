package integration

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// testNode is a private buildkitd: its own root and socket, or tcp with
// mutual TLS (certificates made by the test).
type testNode struct {
	addr, root string
	tls        []string // multinode's TLS flags, for a tcp node
	opts       []solver.ConnectOption
	cmd        *exec.Cmd
	logs       *lockedLog
	waitOnce   sync.Once
}

type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startNode starts a buildkitd with hack/setup's registry mirror and waits
// until it answers; the test's cleanup stops it and reaps what it leaves.
func startNode(t *testing.T, ctx context.Context, overTLS bool) *testNode {
	t.Helper()
	buildkitd, err := exec.LookPath("buildkitd")
	if err != nil {
		t.Fatalf("buildkitd not on PATH (hack/setup puts it there): %v", err)
	}
	cfg := daemonConfig(t)
	// Short: a unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "crossllb-node-")
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{root: filepath.Join(dir, "root"), logs: &lockedLog{}}
	args := []string{"--root", n.root, "--config", cfg, "--oci-worker=true", "--containerd-worker=false"}
	if overTLS {
		ca, caKey := newCert(t, dir, "ca", nil, nil)
		newCert(t, dir, "server", ca, caKey)
		newCert(t, dir, "client", ca, caKey)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n.addr = "tcp://" + l.Addr().String()
		l.Close()
		args = append(args, "--tlscacert", filepath.Join(dir, "ca.pem"), "--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem"))
		n.tls = []string{"--tlscacert", filepath.Join(dir, "ca.pem"), "--tlscert", filepath.Join(dir, "client.pem"), "--tlskey", filepath.Join(dir, "client-key.pem"), "--tlsservername", "127.0.0.1"}
		n.opts = []solver.ConnectOption{solver.WithTLS(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"), "127.0.0.1")}
	} else {
		n.addr = "unix://" + filepath.Join(dir, "buildkitd.sock")
	}
	n.cmd = exec.Command(buildkitd, append(args, "--addr", n.addr)...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	// Its temporary mounts go under dir too, so that the cleanup finds
	// what a killed node leaves.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	n.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.stop()
		reapRoot(t, dir)
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := solver.Connect(ctx, n.addr, append(n.opts, solver.WithProbeTimeout(2*time.Second))...)
		if err == nil {
			c.Close()
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd at %s did not answer: %v\n%s", n.addr, err, n.logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (n *testNode) connect(t *testing.T, ctx context.Context) *solver.Client {
	t.Helper()
	c, err := solver.Connect(ctx, n.addr, n.opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kill SIGKILLs the daemon, as a crashed node.
func (n *testNode) kill() {
	_ = n.cmd.Process.Kill()
	n.waitOnce.Do(func() { _ = n.cmd.Wait() })
}

func (n *testNode) stop() {
	_ = n.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { n.waitOnce.Do(func() { _ = n.cmd.Wait() }); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		n.kill()
		<-done
	}
}

func runMultinode(ctx context.Context, args []string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, multinodeBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// Three targets split over two fresh nodes (one over tcp with mutual TLS)
// come out as ONE index in an OCI tar, an OCI directory and a registry,
// with the same digest as the same build on one node; the cache the fleet
// exports holds every target, so the build on pruned nodes compiles
// nothing.
func TestFleetBuildsOneIndex(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 25*time.Minute)
	a, b := startNode(t, ctx, false), startNode(t, ctx, true)
	src := copyHello(t, "")
	dir := t.TempDir()
	tag := strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	image := registryAddr(t) + "/crossllb-test/fleet:" + tag
	cacheRef := registryAddr(t) + "/crossllb-test/fleet-cache:" + tag
	meta := filepath.Join(dir, "meta.json")
	common := []string{"--context", src, "--platform", helloPlatforms(), "--source-date-epoch", "1700000000"}
	nodes := append([]string{"--addr", a.addr, "--addr", b.addr}, b.tls...)

	args := append(append(append([]string{}, nodes...), common...), "--progress", "plain",
		"--output", "type=oci,dest="+filepath.Join(dir, "fleet.tar"),
		"--output", "type=oci,dest="+filepath.Join(dir, "layout")+",tar=false",
		"--output", "type=image,name="+image+",push=true,registry.insecure=true",
		"--cache-to", "type=registry,ref="+cacheRef+",mode=max,registry.insecure=true",
		"--metadata-file", meta)
	_, errOut, err := runMultinode(ctx, args)
	if err != nil {
		t.Fatalf("multinode: %v\n%s\n%s\n%s", err, lastLines(errOut, 40), a.logs.String(), b.logs.String())
	}
	for _, line := range strings.Split(errOut, "\n") {
		if strings.Contains(line, "WARN:") {
			t.Errorf("BuildKit warned: %s", line)
		}
	}
	if !strings.Contains(errOut, "plan:") || !strings.Contains(errOut, a.addr) || !strings.Contains(errOut, b.addr) {
		t.Errorf("the plan printed before the build does not name both nodes:\n%s", lastLines(errOut, 60))
	}
	m := readMetadata(t, meta)
	used := map[string]int{}
	for _, h := range helloTargets {
		e, ok := m.Nodes[h.platform]
		if !ok {
			t.Fatalf("metadata has no node for %s: %+v", h.platform, m.Nodes)
		}
		used[e.Node]++
		if e.Build != "linux/amd64" || e.Native != (h.platform == "linux/amd64") {
			t.Errorf("%s: node entry %+v, want cross-compiled on linux/amd64 (native only for amd64)", h.platform, e)
		}
	}
	if used[a.addr] == 0 || used[b.addr] == 0 {
		t.Errorf("the targets were not split over both nodes: %v", used)
	}

	// Every output holds the same, valid index.
	untarred := filepath.Join(dir, "untarred")
	untar(t, filepath.Join(dir, "fleet.tar"), untarred)
	ref, err := name.ParseReference(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pulling the pushed index %s: %v", image, err)
	}
	for what, idx := range map[string]v1.ImageIndex{"tar": onlyIndex(t, untarred), "directory": onlyIndex(t, filepath.Join(dir, "layout")), "registry": pushed} {
		t.Run(what, func(t *testing.T) { checkIndex(t, idx, m) })
	}
	noLeftovers(t, dir, "fleet.tar", "layout", "meta.json", "untarred")

	// The same build on one node gives the same digest.
	single := filepath.Join(dir, "single.json")
	var out bytes.Buffer
	if err := runGobuild(ctx, append(append([]string{"--addr", a.addr, "--progress", "plain"}, common...),
		"--output", "type=oci,dest="+filepath.Join(dir, "single.tar"), "--metadata-file", single), &out); err != nil {
		t.Fatalf("gobuild on one node: %v\n%s", err, lastLines(out.String(), 20))
	}
	if one := readMetadata(t, single).ImageDigest; one != m.ImageDigest {
		t.Errorf("split over two nodes the index is %s, on one node %s", m.ImageDigest, one)
	}

	// Prune both nodes: the fleet's cache brings back every target's
	// compile step, wherever the target lands this time.
	for _, n := range []*testNode{a, b} {
		c := n.connect(t, ctx)
		if err := c.BuildKit().Prune(ctx, nil, client.PruneAll); err != nil {
			t.Fatalf("pruning %s: %v", n.addr, err)
		}
		c.Close()
	}
	args = append(append(append([]string{}, nodes...), common...), "--progress", "rawjson",
		"--cache-from", "type=registry,ref="+cacheRef+",registry.insecure=true",
		"--output", "type=oci,dest="+filepath.Join(dir, "again.tar"), "--metadata-file", filepath.Join(dir, "again.json"))
	_, errOut, err = runMultinode(ctx, args)
	if err != nil {
		t.Fatalf("multinode on pruned nodes: %v\n%s", err, lastLines(errOut, 40))
	}
	cached, ran := vertexes(t, strings.NewReader(errOut), "go build")
	if len(cached) != 3 || len(ran) != 0 {
		t.Errorf("go build steps on the pruned nodes: cached %v, ran %v; want all 3 from the fleet's cache", cached, ran)
	}
	// The layers are the same; the index digest is not, because BuildKit
	// writes "imported sha256:..." as the history of a layer that came from
	// an imported cache (it does so on one node too).
	againDir := filepath.Join(dir, "again")
	untar(t, filepath.Join(dir, "again.tar"), againDir)
	if first, again := layerDigests(t, onlyIndex(t, untarred)), layerDigests(t, onlyIndex(t, againDir)); first != again {
		t.Errorf("rebuilt from cache the layers are\n%s\nwere\n%s", again, first)
	}
}

// layerDigests lists each platform's layer digests, one line a platform.
func layerDigests(t *testing.T, idx v1.ImageIndex) string {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(d.Platform.String() + ":")
		for _, l := range m.Layers {
			b.WriteString(" " + l.Digest.String())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sleepyTarget sleeps (under emulation) in the arm64 image, so that a node
// can be killed while it builds it; other targets are quick.
func sleepyTarget(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
	st := bk.Image("debian:bookworm-slim", bk.Platform(t.Platform))
	if t.Platform.Architecture == "arm64" {
		st = st.Run(bk.Args([]string{"sleep", "20"}), bk.IgnoreCache, bk.Platform(t.Platform)).Root()
	}
	return st.File(bk.Mkfile("/ok", 0o644, []byte(platforms.Format(t.Platform)))), ocispec.Image{}, nil
}

// A node killed mid-build fails the build with the node's address and the
// target, leaves no output and no tag; with a retry, the target moves to
// the node that is left and the build succeeds.
func TestFleetNodeKilledMidBuild(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 15*time.Minute)
	targets := []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")}
	tag := strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	image := registryAddr(t) + "/crossllb-test/fleet-kill:" + tag

	build := func(victim *testNode, opts ...solver.BuildOption) (*solver.Result, string, error) {
		survivor := startNode(t, ctx, false)
		fleet, err := solver.NewFleet(survivor.connect(t, ctx), victim.connect(t, ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer fleet.Close()
		plan, err := fleet.Plan(ctx, targets)
		if err != nil {
			t.Fatal(err)
		}
		if plan[1].Node != victim.addr {
			t.Fatalf("plan %v: want linux/arm64 on the second node", plan)
		}
		dest := filepath.Join(t.TempDir(), "out.tar")
		go func() {
			time.Sleep(8 * time.Second)
			victim.kill()
		}()
		res, err := fleet.Build(ctx, targets, sleepyTarget, append(opts,
			solver.WithOutput(solver.OCITar(dest), solver.Registry(image, solver.Insecure())))...)
		return res, dest, err
	}

	victim := startNode(t, ctx, false)
	start := time.Now()
	_, dest, err := build(victim)
	if err == nil {
		t.Fatal("the build survived the node that built linux/arm64")
	}
	t.Logf("error after %v: %v", time.Since(start).Round(time.Second), err)
	for _, want := range []string{victim.addr, "linux/arm64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	noLeftovers(t, filepath.Dir(dest))
	ref, err := name.ParseReference(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(ref, remote.WithContext(ctx)); err == nil {
		t.Errorf("the tag %s exists after a failed build", image)
	}

	victim = startNode(t, ctx, false)
	res, dest, err := build(victim, solver.WithNodeRetries(1))
	if err != nil {
		t.Fatalf("with a retry: %v", err)
	}
	a := res.Plan[1]
	if a.Node == victim.addr || len(a.Retried) != 1 || a.Retried[0] != victim.addr {
		t.Errorf("linux/arm64's assignment %+v: want it retried away from %s", a, victim.addr)
	}
	untarred := filepath.Join(t.TempDir(), "untarred")
	untar(t, dest, untarred)
	idx := onlyIndex(t, untarred)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || im.Manifests[1].Platform == nil || im.Manifests[1].Platform.Architecture != "arm64" {
		t.Errorf("index after the retry: %+v", im.Manifests)
	}
	pushed, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("the tag after the retried build: %v", err)
	}
	if d, _ := pushed.Digest(); d.String() != res.Index.Digest.String() {
		t.Errorf("the tag points at %s, the build made %s", d, res.Index.Digest)
	}
}
