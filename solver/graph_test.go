package solver

import (
	"context"
	"strings"
	"testing"

	bk "github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/crossllb/crossllb/platforms"
)

// A graph that reads a local no WithLocal gives is refused before
// solving, naming the local and the option that provides it.
func TestCheckLocals(t *testing.T) {
	st := bk.Scratch().
		File(bk.Copy(bk.Local("context"), "/", "/ctx/")).
		File(bk.Copy(bk.Local("other"), "/", "/other/"))
	def, err := st.Marshal(context.Background(), bk.Platform(platforms.MustParse("linux/amd64")))
	if err != nil {
		t.Fatal(err)
	}
	err = checkLocals("linux/amd64", def, map[string]fsutil.FS{"context": nil})
	for _, want := range []string{"building linux/amd64", `reads the local "other"`, `solver.WithLocal("other", DIR)`, `this build has ["context"]`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkLocals: %v, want it to contain %q", err, want)
		}
	}
	err = checkLocals("linux/amd64", def, map[string]fsutil.FS{})
	if err == nil || !strings.Contains(err.Error(), `reads the local "context"`) || !strings.Contains(err.Error(), "this build has none") {
		t.Errorf("checkLocals without locals: %v", err)
	}
	if err := checkLocals("linux/amd64", def, map[string]fsutil.FS{"context": nil, "other": nil}); err != nil {
		t.Errorf("both locals given: %v", err)
	}
}

// Phase 1 refuses a missing local before anything is solved, and records
// each target's vertices for the events.
func TestGraphsChecksLocalsAndRecordsVertices(t *testing.T) {
	amd64, arm64 := platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")
	fn := func(_ context.Context, tg Target) (bk.State, ocispec.Image, error) {
		return bk.Scratch().File(bk.Mkfile("/p", 0o644, []byte(platforms.Format(tg.Platform)))), ocispec.Image{}, nil
	}
	o, err := newBuildOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	o.vertices = newVertexTargets([]ocispec.Platform{amd64, arm64})
	workers := []Worker{{Platforms: []ocispec.Platform{amd64, arm64}}}
	g, err := o.graphs(context.Background(), mustTargets(t, []ocispec.Platform{amd64, arm64}), fn, amd64, nil, workers)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []ocispec.Platform{amd64, arm64} {
		d := g.defs[i].Def[0]
		if got := formats(o.vertices.of(digest.FromBytes(d))); len(got) != 1 || got[0] != platforms.Format(p) {
			t.Errorf("target %s's step attributed to %v", platforms.Format(p), got)
		}
	}
	local := func(context.Context, Target) (bk.State, ocispec.Image, error) {
		return bk.Scratch().File(bk.Copy(bk.Local("src"), "/", "/")), ocispec.Image{}, nil
	}
	_, err = o.graphs(context.Background(), mustTargets(t, []ocispec.Platform{amd64}), local, amd64, nil, workers)
	if err == nil || !strings.Contains(err.Error(), `solver.WithLocal("src", DIR)`) || strings.Contains(err.Error(), "failed to solve") {
		t.Errorf("a missing local: %v", err)
	}
}
