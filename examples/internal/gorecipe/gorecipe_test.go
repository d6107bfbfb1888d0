package gorecipe

import (
	"testing"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
)

// secretMounts lists the secret IDs mounted by the go steps of the
// recipe's compile graph for linux/arm64.
func secretMounts(t *testing.T, f *Flags) []string {
	t.Helper()
	r, err := f.Recipe()
	if err != nil {
		t.Fatal(err)
	}
	build := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	tc, err := platforms.ToolchainFor(ocispec.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	builder := llb.Base{Ref: "golang:1.26-bookworm", Platform: build, Config: ocispec.Image{Platform: build}}
	def, err := llb.GoCompile(bk.Local(LocalName), builder, tc, r.goOptions()...).Marshal(t.Context(), bk.Platform(build))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
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
	f := &Flags{Context: "../../gobuild/testdata/hello", Package: "."}
	if ids := secretMounts(t, f); len(ids) != 0 {
		t.Errorf("no NetrcSecret: secret mounts %q, want none", ids)
	}
	f.NetrcSecret = NetrcSecretID
	ids := secretMounts(t, f)
	if len(ids) == 0 {
		t.Fatal("NetrcSecret set: no secret mount in the compile graph")
	}
	for _, id := range ids {
		if id != NetrcSecretID {
			t.Errorf("secret mount %q, want %q", id, NetrcSecretID)
		}
	}
}
