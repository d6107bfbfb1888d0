package gorecipe

import (
	"context"
	"encoding/json"
	"flag"
	"testing"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// anyImage resolves every image for every platform.
type anyImage struct{}

func (anyImage) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	dt, err := json.Marshal(ocispec.Image{Platform: *opt.ImageOpt.Platform})
	return ref, digest.FromString(ref), dt, err
}

// secretMounts lists the secret IDs mounted by the steps of the recipe's
// graph for linux/arm64, built from the command line args.
func secretMounts(t *testing.T, netrc string, args ...string) []string {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c := buildflags.Register(fs, "linux/arm64")
	f := Register(fs)
	if err := c.ParseArgs(fs, append([]string{"--context", "../../gobuild/testdata/hello"}, args...)); err != nil {
		t.Fatal(err)
	}
	f.NetrcSecret = netrc
	g, err := f.Recipe(c)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := g.Target()
	if err != nil {
		t.Fatal(err)
	}
	build := platforms.MustParse("linux/amd64")
	st, _, err := fn(t.Context(), solver.Target{Platform: platforms.MustParse("linux/arm64"), BuildPlatform: build, Resolver: anyImage{}})
	if err != nil {
		t.Fatal(err)
	}
	def, err := st.Marshal(t.Context(), bk.Platform(build))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		for _, m := range op.GetExec().GetMounts() {
			if m.MountType == pb.MountType_SECRET {
				ids = append(ids, m.SecretOpt.ID)
			}
		}
	}
	return ids
}

// --secret id=netrc reaches the go build step as its netrc (the examples
// set NetrcSecret from it); without it no secret is mounted.
func TestNetrcSecret(t *testing.T) {
	if ids := secretMounts(t, ""); len(ids) != 0 {
		t.Errorf("no NetrcSecret: secret mounts %q, want none", ids)
	}
	ids := secretMounts(t, NetrcSecretID)
	if len(ids) == 0 {
		t.Fatal("NetrcSecret set: no secret mount in the compile graph")
	}
	for _, id := range ids {
		if id != NetrcSecretID {
			t.Errorf("secret mount %q, want %q", id, NetrcSecretID)
		}
	}
}
