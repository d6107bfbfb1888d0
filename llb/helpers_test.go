package llb

import (
	"slices"
	"strings"
	"testing"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// decoyHost is the platform tests marshal with as the LLB default (the
// "client host"). No op of this package may carry it: an op that does
// lacks an explicit platform.
func decoyHost() ocispec.Platform { return platforms.MustParse("linux/s390x") }

func buildPlatform() ocispec.Platform { return platforms.MustParse("linux/amd64") }

func targetPlatforms() []ocispec.Platform {
	return []ocispec.Platform{
		platforms.MustParse("linux/amd64"),
		platforms.MustParse("linux/arm64"),
		platforms.MustParse("linux/arm/v7"),
	}
}

func toolchain(t *testing.T, p ocispec.Platform) platforms.Toolchain {
	t.Helper()
	tc, err := platforms.ToolchainFor(p)
	if err != nil {
		t.Fatalf("ToolchainFor(%s): %v", platforms.Format(p), err)
	}
	return tc
}

const (
	golangDigest = digest.Digest("sha256:1111111111111111111111111111111111111111111111111111111111111111")
	debianDigest = digest.Digest("sha256:2222222222222222222222222222222222222222222222222222222222222222")
)

// testBuilder is a resolved golang image, as ResolveBase would return it.
func testBuilder() Base {
	p := buildPlatform()
	return Base{
		Ref:      "golang:1.26-bookworm",
		Digest:   golangDigest,
		Platform: p,
		Config: ocispec.Image{
			Platform: p,
			Config: ocispec.ImageConfig{
				Env: []string{
					"PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					"GOLANG_VERSION=1.26.8",
					"GOTOOLCHAIN=local",
					"GOPATH=/go",
				},
				WorkingDir: "/go",
				Cmd:        []string{"bash"},
			},
		},
	}
}

// testRuntime is a resolved debian image for p.
func testRuntime(p ocispec.Platform) Base {
	return Base{
		Ref:      "debian:bookworm-slim",
		Digest:   debianDigest,
		Platform: p,
		Config: ocispec.Image{
			Platform: p,
			Config: ocispec.ImageConfig{
				Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				Cmd: []string{"bash"},
			},
			History: []ocispec.History{{CreatedBy: "# debian.sh"}},
		},
	}
}

// testSource is the build context as a solver passes it: a local source
// with a stable identity. (Without a session ID or LocalUniqueID, each
// Marshal gives a local source a fresh unique ID, and nothing downstream
// of it is shared between targets.)
func testSource() bk.State { return bk.Local("context", bk.LocalUniqueID("test")) }

// graph is a marshalled definition, decoded.
type graph struct {
	ops   map[digest.Digest]*pb.Op
	names map[digest.Digest]string
	order []digest.Digest // as in Definition.Def, terminal op excluded
	// result is the terminal op's input: the marshalled state.
	result *pb.Input
}

// marshal marshals st with decoyHost as the default platform and decodes
// every op.
func marshal(t *testing.T, st bk.State) *graph {
	t.Helper()
	def, err := st.Marshal(t.Context(), bk.Platform(decoyHost()))
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	g := &graph{ops: map[digest.Digest]*pb.Op{}, names: map[digest.Digest]string{}}
	for i, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
			t.Fatalf("decoding op %d: %v", i, err)
		}
		if op.Op == nil { // the terminal op only points at the result
			g.result = op.Inputs[0]
			continue
		}
		d := digest.FromBytes(dt)
		g.ops[d] = &op
		g.order = append(g.order, d)
		if md, ok := def.Metadata[d]; ok {
			g.names[d] = md.Description["llb.customname"]
		}
	}
	return g
}

// marshalErr marshals st and returns the error, failing if there is none.
func marshalErr(t *testing.T, st bk.State) error {
	t.Helper()
	_, err := st.Marshal(t.Context(), bk.Platform(decoyHost()))
	if err == nil {
		t.Fatal("Marshal succeeded, want an error")
	}
	return err
}

// execs returns the digests of exec ops whose args start with prefix.
func (g *graph) execs(prefix ...string) []digest.Digest {
	var out []digest.Digest
	for _, d := range g.order {
		e := g.ops[d].GetExec()
		if e == nil {
			continue
		}
		if len(e.Meta.Args) >= len(prefix) && slices.Equal(e.Meta.Args[:len(prefix)], prefix) {
			out = append(out, d)
		}
	}
	return out
}

// exec returns the one exec op whose args start with prefix.
func (g *graph) exec(t *testing.T, prefix ...string) (digest.Digest, *pb.ExecOp) {
	t.Helper()
	ds := g.execs(prefix...)
	if len(ds) != 1 {
		t.Fatalf("want one exec %q, found %d", prefix, len(ds))
	}
	return ds[0], g.ops[ds[0]].GetExec()
}

// sources returns the digests of source ops whose identifier starts with
// prefix.
func (g *graph) sources(prefix string) []digest.Digest {
	var out []digest.Digest
	for _, d := range g.order {
		if s := g.ops[d].GetSource(); s != nil && strings.HasPrefix(s.Identifier, prefix) {
			out = append(out, d)
		}
	}
	return out
}

// input returns the op feeding input i of op d.
func (g *graph) input(t *testing.T, d digest.Digest, i int64) (digest.Digest, *pb.Op) {
	t.Helper()
	op := g.ops[d]
	if i < 0 || i >= int64(len(op.Inputs)) {
		t.Fatalf("op %s has no input %d", g.names[d], i)
	}
	in := digest.Digest(op.Inputs[i].Digest)
	return in, g.ops[in]
}

// mount returns the mount of an exec op at dest.
func mount(t *testing.T, e *pb.ExecOp, dest string) *pb.Mount {
	t.Helper()
	for _, m := range e.Mounts {
		if m.Dest == dest {
			return m
		}
	}
	t.Fatalf("exec %q has no mount at %s", e.Meta.Args, dest)
	return nil
}

func opPlatform(op *pb.Op) string {
	p := op.GetPlatform()
	if p == nil {
		return "<none>"
	}
	return platforms.Format(ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant})
}

func envValue(e *pb.ExecOp, key string) (string, bool) {
	for _, kv := range e.Meta.Env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func llbArgs(args ...string) bk.RunOption { return bk.Args(args) }

// dependsOn reports whether op a reads op b's result, directly or through
// other ops.
func (g *graph) dependsOn(a, b digest.Digest) bool {
	seen := map[digest.Digest]bool{}
	var walk func(d digest.Digest) bool
	walk = func(d digest.Digest) bool {
		if seen[d] {
			return false
		}
		seen[d] = true
		op, ok := g.ops[d]
		if !ok {
			return false
		}
		for _, in := range op.Inputs {
			if d := digest.Digest(in.Digest); d == b || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(a)
}
